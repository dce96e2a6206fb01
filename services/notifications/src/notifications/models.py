"""Every table of the notifications service, imported so that its metadata is complete (Alembic)."""

from notifications.db import Base
from notifications.notification.models import Notification

metadata = Base.metadata

__all__ = ["Notification", "metadata"]
