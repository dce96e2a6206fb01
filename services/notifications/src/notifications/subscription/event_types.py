"""The event types a subscription may name: the contracts' catalogue as it is at run time (a type
added to `kit.contracts` later needs no change here), the review calendar's reminders and the
dead letters (`notifications.deadletters`)."""

from kit.auth import Caller, Role
from kit.contracts import EVENT_TYPES
from notifications.deadletters import service as dead_letters
from notifications.reminders.calendar import reminder_types

# Changes of access name users and keys, the bus's dead letters are for operators: admins only.
ADMIN_ONLY_PREFIXES = ("identity.", *dead_letters.ADMIN_ONLY)


def known() -> list[str]:
    return sorted(EVENT_TYPES) + reminder_types() + sorted(dead_letters.TYPES)


def allowed_for(caller: Caller) -> list[str]:
    if caller.role == Role.ADMIN:
        return known()
    return [t for t in known() if not t.startswith(ADMIN_ONLY_PREFIXES)]
