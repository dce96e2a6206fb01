from collections.abc import AsyncIterator
from typing import Annotated

import httpx
from fastapi import Depends, Request

from kit.auth import Caller, Permission, requires
from kit.errors import Forbidden


async def households_client(request: Request) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the households service that carries the caller's own token: the households
    service checks the caller's permission itself."""
    settings = request.state.settings
    async with httpx.AsyncClient(
        base_url=settings.HOUSEHOLDS_URL,
        # The embedded platform hands over an in-process transport (`create_app(households=)`).
        transport=request.app.state.households_transport,
        timeout=settings.HOUSEHOLDS_TIMEOUT_SECONDS,
        headers={"Authorization": request.headers["Authorization"]},
        trust_env=False,
    ) as client:
        yield client


HouseholdsClient = Annotated[httpx.AsyncClient, Depends(households_client)]


async def nationwide_operator(
    caller: Annotated[Caller, requires(Permission.OPERATIONS_MANAGE)],
) -> Caller:
    """An operator without a unit scope: reconciliation covers the whole round (and the
    households service asks the same of the token passed on)."""
    if caller.unit_scope is not None:
        raise Forbidden(
            "Reconciliation covers a whole round: it needs a caller without a unit scope."
        )
    return caller


NationwideOperator = Depends(nationwide_operator)
