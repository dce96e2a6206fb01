"""Unit scopes: which administrative units (and their subtrees) a user or API key may see.

A scope is a non-empty list of unit codes — provinces (2 digits), districts (3) or communes (5) —
or None, the whole country, which only the roles that need it may have.
"""

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag

from kit.auth import Role
from kit.errors import InvalidInput
from kit.fields import Code

UnitCode = Annotated[
    Code, Field(pattern=r"^([0-9]{2}|[0-9]{3}|[0-9]{5})$", examples=["26", "243", "08707"])
]
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

Units = Annotated[
    list[UnitCode],
    Field(
        min_length=1,
        max_length=200,
        description="Unit codes whose subtrees the caller may see.",
        examples=[["08707"]],
    ),
]

NATIONAL_ROLES = frozenset({Role.ADMIN, Role.MINISTRY_ANALYST})
# The roles as literals, so that a request body's schema says which roles may have which scope.
NationalRole = Literal[Role.ADMIN, Role.MINISTRY_ANALYST]
ScopedRole = Literal[Role.PROVINCE_OFFICER, Role.COMMUNE_OFFICER, Role.ENUMERATOR]


def _scope_kind(value: Any) -> str | None:
    role = value.get("role") if isinstance(value, dict) else getattr(value, "role", None)
    if not isinstance(role, str):  # anything at all may arrive in a request body
        return None
    if role in NATIONAL_ROLES:
        return "country-wide"
    if role in set(Role) - NATIONAL_ROLES:
        return "scoped"
    return None


# A request body is one model for country-wide roles and one for scoped roles, so that its schema
# says which roles may have a null scope: `Annotated[Annotated[A, COUNTRY_WIDE] |
# Annotated[B, SCOPED], SCOPE_BY_ROLE]`. An unknown role is one error naming the known ones.
COUNTRY_WIDE = Tag("country-wide")
SCOPED = Tag("scoped")
SCOPE_BY_ROLE = Discriminator(
    _scope_kind,
    custom_error_type="unknown_role",
    custom_error_message=f"The role must be one of: {', '.join(role.value for role in Role)}.",
)


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
