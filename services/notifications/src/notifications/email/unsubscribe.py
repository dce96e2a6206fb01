"""Signed unsubscribe links: whoever holds the e-mail may stop it, without logging in."""

import base64
import hashlib
import hmac
from uuid import UUID


def token(secret: str, subscription_id: UUID) -> str:
    return f"{subscription_id}.{_signature(secret, subscription_id)}"


def verify(secret: str, value: str) -> UUID | None:
    """The subscription a token names, or None when it is not one this platform signed."""
    subscription, _, signature = value.partition(".")
    try:
        subscription_id = UUID(subscription)
    except ValueError:
        return None
    expected = _signature(secret, subscription_id)
    return subscription_id if hmac.compare_digest(signature, expected) else None


def _signature(secret: str, subscription_id: UUID) -> str:
    mac = hmac.new(secret.encode(), f"unsubscribe:{subscription_id}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")
