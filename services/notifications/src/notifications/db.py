"""The notifications service's tables live in this metadata, apart from every other service's."""

from sqlmodel import SQLModel

from kit.auth.revocations import define_token_not_before
from kit.db import new_registry
from kit.idempotency import define_idempotency_keys
from kit.messaging import define_inbox


class Base(SQLModel, registry=new_registry()):
    pass


inbox = define_inbox(Base.metadata)
token_not_before = define_token_not_before(Base.metadata)
idempotency_keys = define_idempotency_keys(Base.metadata)
