"""Changes of access, announced: whose access tokens every process must refuse from now on.

When a user is deactivated or gets another role, other units or a new password, or an API key is
revoked, the tokens already issued would keep working until they expire (up to 15 minutes). In
the transaction of the change the gateway records the subject's "not before" in its own
`token_not_before` table (which its processes reload, `kit.auth.revocations`) and stages
`identity.access.changed.v1` in its outbox, which its relay publishes to every service.
"""

import structlog
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.db import outbox, token_not_before
from kit.auth.revocations import record_not_before
from kit.contracts import AccessChange, AccessChangedV1, Envelope
from kit.db import utc_now
from kit.logging import current_request_id
from kit.messaging import stage


async def announce(session: AsyncSession, subject: str, reason: AccessChange) -> None:
    """Refuse `subject`'s tokens issued until now, here and, once relayed, in every service."""
    now = utc_now()
    await record_not_before(session, token_not_before, subject, now)
    event = AccessChangedV1(token_subject=subject, reason=reason, not_before=now)
    actor = structlog.contextvars.get_contextvars().get("actor")
    envelope = Envelope.wrap(
        event,
        producer="gateway",
        subject=subject,
        # Later changes of one subject have later times: microseconds make the sequence.
        sequence=int(now.timestamp() * 1_000_000),
        correlation_id=current_request_id(),
        actor=actor if isinstance(actor, str) else None,
        occurred_at=now,
    )
    await stage(session, outbox, envelope)
