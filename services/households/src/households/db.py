"""The households service's own tables live in this metadata, apart from every other service's."""

from enum import StrEnum

from sqlalchemy import Enum
from sqlmodel import SQLModel

from kit.auth.revocations import define_token_not_before
from kit.db import new_registry
from kit.idempotency import define_idempotency_keys
from kit.messaging import define_outbox


class Base(SQLModel, registry=new_registry()):
    pass


outbox = define_outbox(Base.metadata)


def stored_as_value(enum: type[StrEnum], length: int) -> Enum:
    """A VARCHAR column holding the enum's value (not the member name): no PostgreSQL enum type
    to migrate when a value is added."""
    return Enum(
        enum,
        native_enum=False,
        length=length,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


token_not_before = define_token_not_before(Base.metadata)
idempotency_keys = define_idempotency_keys(Base.metadata)
