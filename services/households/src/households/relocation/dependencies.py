from typing import Annotated

from kit.auth import Caller, Permission, requires

Relocator = Annotated[Caller, requires(Permission.HOUSEHOLDS_RELOCATE)]
