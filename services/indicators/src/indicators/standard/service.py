"""Reading the standards from their data files."""

import tomllib
from functools import cache
from pathlib import Path

from pydantic import ValidationError

from indicators.standard.exceptions import StandardDataInvalid, StandardNotFound
from indicators.standard.schemas import Standard

DATA_DIR = Path(__file__).parent / "data"


def parse_standard(text: str, *, source: str) -> Standard:
    """Validate one standard's TOML text; `source` names the file in the error."""
    try:
        return Standard.model_validate(tomllib.loads(text))
    except (tomllib.TOMLDecodeError, ValidationError) as error:
        raise StandardDataInvalid(f"{source}: {error}") from error


def load_standards(directory: Path = DATA_DIR) -> dict[str, Standard]:
    """Every standard in `directory` (one `<id>.toml` each), by id, in id order."""
    standards: dict[str, Standard] = {}
    for path in sorted(directory.glob("*.toml")):
        standard = parse_standard(path.read_text(encoding="utf-8"), source=path.name)
        # The file name is how officials find a version; a mismatch would hide one behind another.
        if standard.id != path.stem:
            raise StandardDataInvalid(f"{path.name}: declares id {standard.id!r}")
        standards[standard.id] = standard
    return standards


@cache
def _shipped() -> dict[str, Standard]:
    # The shipped files change only with a release, so they are read once per process.
    return load_standards()


def list_standards() -> list[Standard]:
    return list(_shipped().values())


def get_standard(standard_id: str) -> Standard:
    try:
        return _shipped()[standard_id]
    except KeyError:
        raise StandardNotFound(standard_id) from None
