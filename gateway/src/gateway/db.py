"""The gateway's tables live in this metadata: users, refresh tokens, API keys, and the changes of
access it announces (its outbox and its own `token_not_before`), and the first answers of its
creating POSTs sent with an `Idempotency-Key`."""

from sqlalchemy import JSON
from sqlmodel import SQLModel

from kit.auth.revocations import define_token_not_before
from kit.db import new_registry
from kit.idempotency import define_idempotency_keys
from kit.messaging import define_outbox

# A unit scope: a JSON list of unit codes, or SQL NULL for the whole country.
UnitScopeColumn = JSON(none_as_null=True)


class Base(SQLModel, registry=new_registry()):
    pass


outbox = define_outbox(Base.metadata)
token_not_before = define_token_not_before(Base.metadata)
idempotency_keys = define_idempotency_keys(Base.metadata)
