"""Unit scopes: which administrative units (and their subtrees) a user or API key may see.

A scope is a non-empty list of unit codes — provinces (2 digits), districts (3) or communes (5) —
or None, the whole country, which only the roles that need it may have.
"""

from typing import Annotated

from pydantic import Field

from kit.auth import Role
from kit.errors import InvalidInput

UnitCode = Annotated[str, Field(pattern=r"^(\d{2}|\d{3}|\d{5})$", examples=["26", "243", "08707"])]
UnitScope = Annotated[
    list[UnitCode] | None,
    Field(
        min_length=1,
        max_length=200,
        description="Unit codes whose subtrees the caller may see; null: the whole country "
        "(only for `admin` and `ministry_analyst`).",
        examples=[["26"]],
    ),
]

NATIONAL_ROLES = frozenset({Role.ADMIN, Role.MINISTRY_ANALYST})


def checked_scope(
    role: Role, units: list[str] | None, loc: list[str | int]
) -> tuple[str, ...] | None:
    """The scope as stored (sorted, without repeats), or 422 when the role may not have it."""
    if units is None:
        if role not in NATIONAL_ROLES:
            raise InvalidInput.field(
                loc,
                f"The role {role.value} needs a list of unit codes; only admin and "
                "ministry_analyst may cover the whole country (null).",
            )
        return None
    if not units:
        raise InvalidInput.field(loc, "Give at least one unit code, or null for the whole country.")
    return tuple(sorted(set(units)))
