"""Every table of the notifications service, imported so that its metadata is complete (Alembic)."""

from notifications.db import Base
from notifications.deadletters.models import DeadLetterWatch
from notifications.delivery.models import Delivery, DeliveryAttempt
from notifications.inbox.models import InboxItem
from notifications.notification.models import Notification
from notifications.reminders.models import PostingPeriod
from notifications.subscription.models import Subscription, SubscriptionEventType

metadata = Base.metadata

__all__ = [
    "DeadLetterWatch",
    "Delivery",
    "DeliveryAttempt",
    "InboxItem",
    "Notification",
    "PostingPeriod",
    "Subscription",
    "SubscriptionEventType",
    "metadata",
]
