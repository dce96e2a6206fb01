"""The event types a subscription may name: the contracts' catalogue as it is at run time (a type
added to `kit.contracts` later needs no change here), and the review calendar's reminders."""

from kit.auth import Caller, Role
from kit.contracts import EVENT_TYPES
from notifications.reminders.calendar import reminder_types

# Changes of access name users and keys: for admins only.
ADMIN_ONLY_PREFIXES = ("identity.",)


def known() -> list[str]:
    return sorted(EVENT_TYPES) + reminder_types()


def allowed_for(caller: Caller) -> list[str]:
    if caller.role == Role.ADMIN:
        return known()
    return [t for t in known() if not t.startswith(ADMIN_ONLY_PREFIXES)]
