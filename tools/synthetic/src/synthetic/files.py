"""The synthetic province as files: households as JSON lines, populations as CSV.

`households.jsonl` holds one household a line, `{"household": {...}, "assessment": {...}}`, each
part exactly `model_dump(mode="json")` of the API's `HouseholdCreate` and `AssessmentInput` (written
with pydantic's own serialiser: compact, UTF-8). `populations.csv` has the columns
`unit_code,resident_households,resident_persons` that `POST /api/v1/populations/{round}/import`
takes. Files are written under a temporary name and renamed, so a crash leaves no half file.
"""

import csv
import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from households.household.schemas import AssessmentInput, HouseholdCreate
from households.population.schemas import PopulationRow
from kit.spreadsheets import safe_row
from synthetic.generator import SyntheticHousehold

HOUSEHOLDS_FILE = "households.jsonl"
POPULATIONS_FILE = "populations.csv"
POPULATION_COLUMNS = ("unit_code", "resident_households", "resident_persons")


class PopulationTally:
    """Resident households and persons per commune of the households that went past."""

    def __init__(self) -> None:
        self._counts: dict[str, list[int]] = {}

    def add(self, item: SyntheticHousehold) -> None:
        self.count(item.household.commune_code, len(item.assessment.members))

    def count(self, commune_code: str, persons: int) -> None:
        """One more household of `persons` members in the commune."""
        counts = self._counts.setdefault(commune_code, [0, 0])
        counts[0] += 1
        counts[1] += persons

    def counting(self, items: Iterable[SyntheticHousehold]) -> Iterator[SyntheticHousehold]:
        """`items` unchanged, each counted as it passes."""
        for item in items:
            self.add(item)
            yield item

    def rows(self) -> list[PopulationRow]:
        """One row per commune seen so far, by code."""
        return [
            PopulationRow(unit_code=code, resident_households=households, resident_persons=persons)
            for code, (households, persons) in sorted(self._counts.items())
        ]


def household_line(item: SyntheticHousehold) -> str:
    """The household's line in `households.jsonl`, newline included."""
    household = item.household.model_dump_json()
    assessment = item.assessment.model_dump_json()
    return f'{{"household":{household},"assessment":{assessment}}}\n'


def write_households(items: Iterable[SyntheticHousehold], path: Path) -> int:
    """Write `items` as JSON lines to `path`, streaming; how many were written."""
    count = 0
    with replacing(path) as temporary, temporary.open("w", encoding="utf-8", newline="\n") as out:
        for item in items:
            out.write(household_line(item))
            count += 1
    return count


def read_households(path: Path) -> Iterator[tuple[HouseholdCreate, AssessmentInput]]:
    """The households of a `households.jsonl`, validated as the API validates them."""
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            try:
                parsed = json.loads(line)
                yield (
                    HouseholdCreate.model_validate(parsed["household"]),
                    AssessmentInput.model_validate(parsed["assessment"]),
                )
            except (ValueError, KeyError, TypeError) as error:
                raise ValueError(f"{path}, line {number}: {error}") from error


def write_populations(rows: Iterable[PopulationRow], path: Path) -> int:
    """Write `rows` as the population import CSV; how many rows were written."""
    count = 0
    with replacing(path) as temporary, temporary.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(safe_row(POPULATION_COLUMNS))
        for row in rows:
            writer.writerow(
                safe_row([row.unit_code, row.resident_households, row.resident_persons])
            )
            count += 1
    return count


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary sibling of `path` to write, renamed onto `path` only if the block succeeds."""
    temporary = path.with_name(f".{path.name}.partial")
    try:
        yield temporary
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    os.replace(temporary, path)
