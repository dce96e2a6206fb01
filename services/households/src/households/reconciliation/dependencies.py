from typing import Annotated

from fastapi import Depends

from kit.auth import Caller, Permission, requires
from kit.errors import Forbidden


async def nationwide_operator(
    caller: Annotated[Caller, requires(Permission.OPERATIONS_MANAGE)],
) -> Caller:
    """An operator without a unit scope: a ledger and a re-publication cover the whole round."""
    if caller.unit_scope is not None:
        raise Forbidden(
            "A round's ledger covers every commune: it needs a caller without a unit scope."
        )
    return caller


NationwideOperator = Depends(nationwide_operator)
