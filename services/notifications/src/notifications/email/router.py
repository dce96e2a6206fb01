"""Unsubscribe links of e-mails: no login, the signed token is the authority."""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from kit.db import SessionDep, utc_now
from kit.errors import PROBLEM_RESPONSES, InvalidInput
from notifications.config import Settings
from notifications.email import unsubscribe
from notifications.subscription.models import Channel, Subscription

router = APIRouter(
    prefix="/api/v1/unsubscribe", tags=["subscriptions"], responses=PROBLEM_RESPONSES
)
Token = Annotated[
    str,
    Query(min_length=10, max_length=200, description="The token of an e-mail's unsubscribe link."),
]


class Unsubscribed(BaseModel):
    unsubscribed: bool = Field(
        description="True: the link's subscription sends no more e-mails (its other channels stay)."
    )
    detail: str = Field(description="What happened, for people.")


def _subscription_id(request: Request, token: str) -> object:
    settings: Settings = request.state.settings
    subscription_id = unsubscribe.verify(settings.UNSUBSCRIBE_SECRET.get_secret_value(), token)
    if subscription_id is None:
        raise InvalidInput.field(["query", "token"], "Not an unsubscribe link of this platform.")
    return subscription_id


@router.get("", response_class=HTMLResponse)
async def confirm_unsubscribe(request: Request, token: Token) -> HTMLResponse:
    """A page with one button that stops the e-mails of the link's subscription (a GET never
    unsubscribes: mail scanners open links)."""
    _subscription_id(request, token)
    return HTMLResponse(
        '<!doctype html><html lang="vi"><body><form method="post">'
        "<p>Hủy nhận thư của đăng ký này? / Stop these e-mails?</p>"
        '<button type="submit">Hủy đăng ký / Unsubscribe</button></form></body></html>'
    )


@router.post("", response_model=Unsubscribed)
async def unsubscribe_email(request: Request, token: Token, session: SessionDep) -> Unsubscribed:
    """Stop the e-mails of the link's subscription (RFC 8058 one-click); its other channels go
    on. Unsubscribing twice, or from a deleted subscription, answers the same."""
    subscription_id = _subscription_id(request, token)
    subscription = await session.get(Subscription, subscription_id)
    if subscription is None or Channel.email not in subscription.channels:
        return Unsubscribed(unsubscribed=True, detail="No e-mails are sent for this link.")
    subscription.channels = [c for c in subscription.channels if c != Channel.email]
    subscription.updated_at = utc_now()
    await session.flush()
    return Unsubscribed(unsubscribed=True, detail="E-mails of this subscription stopped.")
