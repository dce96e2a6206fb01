"""The administrative units a scope may name, as the households service (which owns them) knows
them: a unit code must be in force today, at the level the role works at."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import httpx
import structlog

from gateway.auth.issuer import TokenIssuer
from kit.auth import Role
from kit.db import utc_now
from kit.errors import InvalidInput, ServiceUnavailable

# The levels a scoped role's units may be at. A commune officer and an enumerator work in
# communes; a province officer supervises a province, or a district of one while districts exist
# (until 30 June 2025: resolved today, a district code is no longer in force). Country-wide roles
# may name any unit.
LEVELS_BY_ROLE: dict[Role, frozenset[str]] = {
    Role.COMMUNE_OFFICER: frozenset({"commune"}),
    Role.ENUMERATOR: frozenset({"commune"}),
    Role.PROVINCE_OFFICER: frozenset({"province", "district"}),
}
# Who the gateway is when it asks: units are reference data every role may read.
SUBJECT = "service:gateway"
log = structlog.get_logger()


@dataclass(frozen=True)
class Succession:
    """A unit on the other side of a map change, and how the old unit's territory went."""

    code: str
    name: str
    level: str
    relation: str  # kit.contracts.households.SuccessionRelation


class UnitDirectory:
    """What the households service, which owns the units, says of them; asked with a short-lived
    token of the gateway's own."""

    def __init__(
        self,
        households: httpx.AsyncClient,
        issuer: TokenIssuer,
        *,
        today: Callable[[], date] = lambda: utc_now().date(),
    ) -> None:
        self._households = households
        self._issuer = issuer
        self._today = today

    async def level(self, code: str, on: date | None = None) -> str | None:
        """The level of the unit `code` in force `on` that day (without a day, of its latest
        version), or None when there is none."""
        answer = await self._get(f"/api/v1/units/{code}", {"on": on.isoformat()} if on else {})
        return str(answer["level"]) if isinstance(answer, dict) else None

    async def successors(self, code: str) -> list[Succession]:
        """The units that took over the most recent ended version of `code`."""
        answer = await self._get(f"/api/v1/units/{code}/successors", {})
        return [_succession(item) for item in answer] if isinstance(answer, list) else []

    async def predecessors(self, code: str) -> list[Succession]:
        """The units whose territory went into the latest version of `code`."""
        answer = await self._get(f"/api/v1/units/{code}/predecessors", {})
        return [_succession(item) for item in answer] if isinstance(answer, list) else []

    async def _get(self, path: str, params: dict[str, str]) -> object:
        """The households service's JSON answer, None for 404; 503 when it cannot answer."""
        token = self._issuer.issue(
            subject=SUBJECT,
            role=Role.MINISTRY_ANALYST,
            unit_scope=None,
            lifetime=timedelta(seconds=60),
        )
        try:
            answer = await self._households.get(
                path, params=params, headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.HTTPError as error:
            log.warning("units.unreachable", error=repr(error))
            raise _unavailable() from None
        if answer.status_code == 404:
            return None
        if answer.status_code != 200:
            log.warning("units.unexpected_answer", status=answer.status_code)
            raise _unavailable()
        return answer.json()

    async def check(
        self, role: Role, units: Sequence[str] | None, loc: Sequence[str | int]
    ) -> None:
        """422 naming the first unit code of `units` that is not in force today at a level
        `role` may work at (by its place in `units`)."""
        if units is None:
            return
        today = self._today()
        allowed = LEVELS_BY_ROLE.get(role)
        for position, code in enumerate(units):
            level = await self.level(code, today)
            if level is None:
                raise InvalidInput.field(
                    [*loc, position], f"There is no unit {code} in force today ({today})."
                )
            if allowed is not None and level not in allowed:
                raise InvalidInput.field(
                    [*loc, position],
                    f"A {role.value} works in units of level {' or '.join(sorted(allowed))}: "
                    f"{code} is a {level}.",
                )


def _succession(item: dict[str, object]) -> Succession:
    unit = item["unit"]
    assert isinstance(unit, dict)
    return Succession(
        code=str(unit["code"]),
        name=str(unit["name"]),
        level=str(unit["level"]),
        relation=str(item["relation"]),
    )


def _unavailable() -> ServiceUnavailable:
    return ServiceUnavailable(
        "Unit codes cannot be checked now: the households service is unavailable."
    )
