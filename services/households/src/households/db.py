"""The households service's own tables live in this metadata, apart from every other service's."""

from sqlmodel import SQLModel

from kit.db import new_registry
from kit.messaging import define_outbox


class Base(SQLModel, registry=new_registry()):
    pass


outbox = define_outbox(Base.metadata)
