"""The bulk-import files and the command that writes them."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from households.population.service import parse_csv
from synthetic import (
    Commune,
    generate,
    populations,
    read_households,
    write_households,
    write_populations,
    write_province,
)
from synthetic.__main__ import main

COMMUNES = [Commune("08707", urban=True), Commune("08764", urban=False), Commune("08767", False)]


def test_each_line_holds_the_household_and_its_assessment_as_the_api_dumps_them(
    tmp_path: Path,
) -> None:
    items = list(generate(COMMUNES, households=50, seed=3))

    assert write_households(items, tmp_path / "households.jsonl") == 50

    lines = (tmp_path / "households.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [
        {
            "household": item.household.model_dump(mode="json"),
            "assessment": item.assessment.model_dump(mode="json"),
        }
        for item in items
    ]


def test_the_households_file_reads_back_as_the_households_written(tmp_path: Path) -> None:
    items = list(generate(COMMUNES, households=30, seed=3))
    write_households(items, tmp_path / "households.jsonl")

    assert list(read_households(tmp_path / "households.jsonl")) == [
        (item.household, item.assessment) for item in items
    ]


def test_a_broken_line_is_named_when_reading(tmp_path: Path) -> None:
    path = tmp_path / "households.jsonl"
    write_households(generate(COMMUNES, households=2), path)
    path.write_text(path.read_text(encoding="utf-8") + '{"household": {}}\n', encoding="utf-8")

    with pytest.raises(ValueError, match="line 3"):
        list(read_households(path))


def test_the_populations_csv_is_what_the_import_endpoint_reads(tmp_path: Path) -> None:
    rows = populations(COMMUNES, households=100, seed=3)

    write_populations(rows, tmp_path / "populations.csv")

    data = (tmp_path / "populations.csv").read_bytes()
    assert data.splitlines()[0] == b"unit_code,resident_households,resident_persons"
    assert list(parse_csv(data).values()) == rows


def test_a_failed_write_leaves_no_file_behind(tmp_path: Path) -> None:
    def failing() -> object:
        yield from generate(COMMUNES, households=5)
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_households(failing(), tmp_path / "households.jsonl")  # type: ignore[arg-type]

    assert list(tmp_path.iterdir()) == []


def test_the_province_files_agree_with_each_other(tmp_path: Path) -> None:
    files = write_province(COMMUNES, tmp_path / "out", households=90, seed=4)

    lines = files.households_path.read_text(encoding="utf-8").splitlines()
    households = [json.loads(line)["household"] for line in lines]
    rows = parse_csv(files.populations_path.read_bytes()).values()
    assert (files.households, files.communes) == (90, 3)
    assert {row.unit_code: row.resident_households for row in rows} == {
        commune.code: 30 for commune in COMMUNES
    }
    assert [household["commune_code"] for household in households[:3]] == [
        commune.code for commune in COMMUNES
    ]
    assert files.persons == sum(row.resident_persons for row in rows)


def test_worker_processes_write_the_same_bytes_as_one_process(tmp_path: Path) -> None:
    one = write_province(COMMUNES, tmp_path / "one", households=301, seed=4, workers=1)
    two = write_province(COMMUNES, tmp_path / "two", households=301, seed=4, workers=2)

    assert one.households_path.read_bytes() == two.households_path.read_bytes()
    assert one.populations_path.read_bytes() == two.populations_path.read_bytes()


def test_a_failing_worker_fails_the_write_and_leaves_no_file(tmp_path: Path) -> None:
    communes = [Commune("08707", urban=True), Commune("8764", urban=False)]  # not 5 digits

    with pytest.raises(RuntimeError, match="failed: ValidationError"):
        write_province(communes, tmp_path, households=10, workers=2)

    assert list(tmp_path.iterdir()) == []


def test_the_command_writes_both_files_and_the_same_bytes_every_time(
    database_url: str, tmp_path: Path
) -> None:
    arguments = ["--province", "26", "--households", "500", "--seed", "7"]
    arguments += ["--database-url", database_url]

    main([*arguments, "--out", str(tmp_path / "first")])
    command = [sys.executable, "-m", "synthetic", *arguments]
    subprocess.run([*command, "--out", str(tmp_path / "again")], check=True, capture_output=True)

    for name in ("households.jsonl", "populations.csv"):
        first, again = (tmp_path / run / name for run in ("first", "again"))
        assert first.read_bytes() == again.read_bytes()
    lines = (tmp_path / "first" / "households.jsonl").read_text(encoding="utf-8").splitlines()
    rows = parse_csv((tmp_path / "first" / "populations.csv").read_bytes()).values()
    assert len(lines) == sum(row.resident_households for row in rows) == 500
    assert len(rows) == 121  # every commune of Vĩnh Phúc


def test_the_command_refuses_a_province_without_communes(database_url: str, tmp_path: Path) -> None:
    out = tmp_path / "out"

    with pytest.raises(SystemExit, match="province '99' has no communes"):
        main(["--province", "99", "--database-url", database_url, "--out", str(out)])

    assert not out.exists()
