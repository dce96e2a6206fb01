"""Who is calling: the one seam where identity and unit scope enter every service.

Today every request is the unrestricted `ANONYMOUS` caller. Identity and scoped access replace
`current_caller` with token verification; routes that already take `CallerDep`, and services that
filter by `Caller.unit_scope`, then need no change.
"""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request


@dataclass(frozen=True, slots=True)
class Caller:
    subject: str
    roles: frozenset[str]
    unit_scope: tuple[str, ...] | None  # unit codes whose subtrees may be seen; None: all

    def may_see(self, unit_path: tuple[str, ...] | list[str]) -> bool:
        return self.unit_scope is None or any(code in unit_path for code in self.unit_scope)


ANONYMOUS = Caller(subject="anonymous", roles=frozenset(), unit_scope=None)


async def current_caller(request: Request) -> Caller:
    """The caller of this request (the identity seam; see the module docstring)."""
    request.state.caller = ANONYMOUS
    return ANONYMOUS


CallerDep = Annotated[Caller, Depends(current_caller)]
