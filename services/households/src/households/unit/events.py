"""The crosswalk as events: consumers keep their own copy to restate figures onto the new map."""

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from households.unit.models import UnitLevel
from kit.contracts import Envelope
from kit.contracts.households import UnitSuccession, UnitSuccessionsRecordedV1

if TYPE_CHECKING:
    from households.unit.seed import SuccessionRow, UnitRow

PRODUCER = "households"


def successions_recorded(
    units: Sequence["UnitRow"], successions: Sequence["SuccessionRow"], *, source: str
) -> list[Envelope]:
    """One event per old province: every edge of the crosswalk leaving that province's units.

    Sequence 1 under a subject naming the dataset: a crosswalk is loaded once per dataset version,
    and a newer dataset is a new subject, not a correction of the old one."""
    by_key = {(unit["code"], unit["valid_from"]): unit for unit in units}
    grouped: dict[str, list[UnitSuccession]] = defaultdict(list)
    effective: dict[str, date] = {}
    for row in successions:
        before = by_key[(row["predecessor_code"], row["predecessor_valid_from"])]
        after = by_key[(row["successor_code"], row["successor_valid_from"])]
        path = [after["province_code"], after["district_code"], after["code"]]
        province = before["province_code"]
        # One map change per province and dataset: the subject below names no date.
        if effective.setdefault(province, row["effective"]) != row["effective"]:
            raise ValueError(f"old province {province} has successors on several days")
        grouped[province].append(
            UnitSuccession(
                predecessor_code=row["predecessor_code"],
                predecessor_valid_from=row["predecessor_valid_from"],
                successor_code=row["successor_code"],
                successor_valid_from=row["successor_valid_from"],
                successor_level=after["level"].value,
                successor_unit_path=list(dict.fromkeys(code for code in path if code)),
                successor_area=after["area"] if after["level"] is UnitLevel.commune else None,
                relation=row["relation"],
            )
        )
    return [
        Envelope.wrap(
            UnitSuccessionsRecordedV1(
                source=source,
                effective=effective[province],
                predecessor_province_code=province,
                successions=edges,
            ),
            producer=PRODUCER,
            subject=f"successions:{source}:{province}",
            sequence=1,
        )
        for province, edges in sorted(grouped.items())
    ]
