"""The gateway's tables live in this metadata: users, refresh tokens and API keys."""

from sqlalchemy import JSON
from sqlmodel import SQLModel

from kit.db import new_registry

# A unit scope: a JSON list of unit codes, or SQL NULL for the whole country.
UnitScopeColumn = JSON(none_as_null=True)


class Base(SQLModel, registry=new_registry()):
    pass
