"""Roles, what each may do, and the caller a verified token describes.

One table (`PERMISSIONS`) says what every role may do in every service; a route names the one
permission it needs, and the unit scope then decides which objects the caller sees at all.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    PROVINCE_OFFICER = "province_officer"
    COMMUNE_OFFICER = "commune_officer"
    ENUMERATOR = "enumerator"  # enters surveys
    MINISTRY_ANALYST = "ministry_analyst"  # aggregates only, typically another ministry's system


class Permission(StrEnum):
    HOUSEHOLDS_READ = "households:read"
    HOUSEHOLDS_WRITE = "households:write"
    # Households of a commune no longer in force carried or assigned to its successor commune.
    HOUSEHOLDS_RELOCATE = "households:relocate"
    PERSONAL_DATA_READ = "personal_data:read"  # names, ID numbers, birth dates, phones unmasked
    POPULATIONS_READ = "populations:read"
    POPULATIONS_WRITE = "populations:write"
    ROUNDS_READ = "rounds:read"
    ROUNDS_WRITE = "rounds:write"
    # A commune's review in a round (docs/review-round.md): its state, meetings and objections.
    REVIEWS_READ = "reviews:read"
    REVIEWS_RECORD = "reviews:record"  # village meetings, objections and their re-checks
    REVIEWS_ADVANCE = "reviews:advance"  # open → surveyed → posted
    REVIEWS_RECOGNISE = "reviews:recognise"  # posted → approved: the commune recognises its lists
    REVIEWS_APPROVE_PROVINCE = "reviews:approve_province"
    REVIEWS_REOPEN = "reviews:reopen"  # an approved commune back to surveying
    # A commune's community digital technology teams and their members (docs/digital-inclusion.md).
    DIGITAL_TEAMS_MANAGE = "digital_teams:manage"
    UNITS_READ = "units:read"
    AUDIT_READ = "audit:read"
    CONFLICTS_RESOLVE = "conflicts:resolve"  # a person recorded in two households of a round
    CLASSIFICATIONS_READ = "classifications:read"  # one household's class and deprivations
    FIGURES_READ = "figures:read"
    TARGETS_WRITE = "targets:write"  # set and withdraw targets of units of the scope
    # Import public statistics beside the figures (mobile coverage, broadband, smartphones).
    CONTEXT_SERIES_WRITE = "context_series:write"
    SMALL_CELLS_READ = "small_cells:read"  # counts below the disclosure threshold unsuppressed
    STANDARDS_READ = "standards:read"
    RECALCULATIONS_READ = "recalculations:read"
    RECALCULATIONS_RUN = "recalculations:run"
    NOTIFICATIONS_READ = "notifications:read"
    # One's own subscriptions (events over units within one's scope) and personal inbox.
    SUBSCRIPTIONS_MANAGE = "subscriptions:manage"
    OPERATIONS_MANAGE = "operations:manage"  # dead letters
    IDENTITY_MANAGE = "identity:manage"  # users and API keys


_EVERYONE = {
    Permission.SUBSCRIPTIONS_MANAGE,
    Permission.UNITS_READ,
    Permission.ROUNDS_READ,
    Permission.STANDARDS_READ,
    Permission.FIGURES_READ,
}
_OFFICER = _EVERYONE | {
    Permission.HOUSEHOLDS_READ,
    Permission.POPULATIONS_READ,
    Permission.CLASSIFICATIONS_READ,
    Permission.SMALL_CELLS_READ,
    Permission.NOTIFICATIONS_READ,
    Permission.RECALCULATIONS_READ,
    Permission.REVIEWS_READ,
}

PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    # Supervises the province: sees households to check them, but not the personal data in them.
    Role.PROVINCE_OFFICER: frozenset(
        _OFFICER
        | {
            Permission.AUDIT_READ,
            Permission.CONFLICTS_RESOLVE,
            Permission.DIGITAL_TEAMS_MANAGE,
            Permission.HOUSEHOLDS_RELOCATE,
            Permission.RECALCULATIONS_RUN,
            Permission.REVIEWS_APPROVE_PROVINCE,
            Permission.TARGETS_WRITE,
            Permission.CONTEXT_SERIES_WRITE,
        }
    ),
    Role.COMMUNE_OFFICER: frozenset(
        _OFFICER
        | {
            Permission.HOUSEHOLDS_WRITE,
            Permission.HOUSEHOLDS_RELOCATE,
            Permission.PERSONAL_DATA_READ,
            Permission.POPULATIONS_WRITE,
            Permission.AUDIT_READ,
            Permission.REVIEWS_RECORD,
            Permission.REVIEWS_ADVANCE,
            Permission.REVIEWS_RECOGNISE,
            Permission.CONFLICTS_RESOLVE,
            Permission.DIGITAL_TEAMS_MANAGE,
        }
    ),
    Role.ENUMERATOR: frozenset(
        _EVERYONE
        | {
            Permission.HOUSEHOLDS_READ,
            Permission.HOUSEHOLDS_WRITE,
            Permission.PERSONAL_DATA_READ,
            Permission.CLASSIFICATIONS_READ,
            Permission.SMALL_CELLS_READ,
            Permission.REVIEWS_READ,  # to know whether a commune's surveys are still open
        }
    ),
    Role.MINISTRY_ANALYST: frozenset(_EVERYONE),
}


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: a user or an API key, its role, and the units whose subtrees it may see."""

    subject: str
    role: Role
    unit_scope: tuple[str, ...] | None  # unit codes; None: the whole country

    def can(self, permission: Permission) -> bool:
        return permission in PERMISSIONS[self.role]

    def may_see(self, unit_path: Iterable[str | None]) -> bool:
        """Whether a unit (given as its codes from province down) lies within the scope."""
        return self.unit_scope is None or any(code in self.unit_scope for code in unit_path)
