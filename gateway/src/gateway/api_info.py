"""The merged document's front matter: what the API is, how to call it, and its tags in the order
a newcomer meets them."""

from typing import Any

DESCRIPTION = """\
The public API of Vietnam's poverty-review platform: administrative units, review rounds,
households and their surveys, and the classification of every household under the national
multidimensional poverty standard (Decree 07/2021: an income test plus 12 deprivation
indicators in 6 dimensions), with poverty and near-poor rates per unit and round.

**Calling it.** Every operation under `/api/v1` needs a caller: `Authorization: Bearer <token>`
from `POST /api/v1/auth/token` (password or refresh grant; tokens last 15 minutes), or
`X-API-Key` for machine clients. Each operation's description says which roles may call it;
what a caller sees is limited to its unit scope, and an object outside it answers 404 as if it
did not exist. Personal data is masked for roles that only need aggregates, and small counts
are perturbed for them (cell-key method).

**Units and dates.** Money is in Vietnamese đồng (VND); incomes are per person per month; areas
in m². Units are resolved on the round's reference date, so a commune code names the commune in
force on that day; ages are as of the reference date too.

**Writing.** Changing a household or replacing a survey needs `If-Match` with the `ETag` last
read (412 when someone else changed it first, 428 without it). Long work (imports,
recalculations) answers 202 with a job to poll.

**Errors** are RFC 9457 `application/problem+json`: `type`, `title`, `status`, `detail` and
`errors`, a list of `{loc, msg}` naming each refused field.

**Languages.** Labels of indicators and classes come in Vietnamese or English as the
`Accept-Language` header asks (English by default).

**Versions.** Everything under `/api/v1` stays compatible: fields and operations may be added,
never removed or narrowed; clients must ignore fields and enum values they do not know. An
operation to be retired answers with `Deprecation` and `Sunset` headers (RFC 9745, RFC 8594)
well before it goes. Changes are listed in the platform's `docs/api-changelog.md`.
"""

CONTACT: dict[str, str] = {
    "name": "Poverty review platform maintainers",
    "email": "api@poverty-review.example",
}
# No licence file names one yet: the owner confirms this before the first public release.
LICENSE: dict[str, str] = {"name": "Apache 2.0", "identifier": "Apache-2.0"}
SERVERS: list[dict[str, str]] = [
    {"url": "/", "description": "This gateway"},
    {"url": "http://127.0.0.1:8000", "description": "The embedded platform of `make run`"},
]

TAGS: list[dict[str, Any]] = [
    {"name": "auth", "description": "Log in, refresh and revoke tokens; who am I."},
    {"name": "identity", "description": "Users and API keys (admins only)."},
    {
        "name": "units",
        "description": "Administrative units (province, district before July 2025, commune) "
        "on any date, and how they were merged or split.",
    },
    {
        "name": "rounds",
        "description": "Review rounds: a year's periodic or additional review, pinned to a "
        "poverty standard and a reference date.",
    },
    {
        "name": "reviews",
        "description": "A commune's review in a round: open → surveyed → posted → approved, "
        "village meetings, public posting, objections and the province's approval.",
    },
    {"name": "households", "description": "Households, their members and their surveys."},
    {
        "name": "relocations",
        "description": "Households of communes no longer in force, carried to their successors.",
    },
    {
        "name": "populations",
        "description": "Resident households and persons per unit: the rates' denominators.",
    },
    {"name": "imports", "description": "Bulk import of households and surveys (CSV, XLSX)."},
    {"name": "conflicts", "description": "A person recorded in two households of a round."},
    {"name": "audit", "description": "Who changed what, when."},
    {
        "name": "standards",
        "description": "Poverty standards as data: thresholds, indicators and their rules.",
    },
    {
        "name": "classifications",
        "description": "Each household's class (poor, near-poor, …) with the reasons.",
    },
    {"name": "figures", "description": "Counts, rates and deprivations per unit and round."},
    {"name": "recalculations", "description": "Recalculating a round's classes and figures."},
    {"name": "notifications", "description": "The in-app inbox of a unit's officers."},
    {
        "name": "admin",
        "description": "Operations: dead letters, reconciliation and republication of rounds.",
    },
    {"name": "health", "description": "Liveness and readiness of the gateway."},
]
