"""Retiring an operation: what its callers are told, in every answer, before it goes.

    @router.get("/old", **retiring(since=date(2027, 1, 1), sunset=date(2027, 7, 1),
                                    successor="/api/v1/new"))

marks the operation `deprecated` in the OpenAPI document (with `x-sunset`) and adds to every
answer `Deprecation: @<since, as Unix seconds>` (RFC 9745), `Sunset: <HTTP date>` (RFC 8594) and,
with a successor, `Link: <successor>; rel="successor-version"`. After the sunset the operation may
be removed: a breaking change, so the snapshot's check (`tests/api/test_openapi_contract.py`)
asks for it to be refreshed on purpose, with an entry in docs/api-changelog.md. Nothing is retired
today.
"""

from datetime import UTC, date, datetime, time
from email.utils import format_datetime
from typing import Any

from fastapi import Depends, Response


def retiring(*, since: date, sunset: date, successor: str | None = None) -> dict[str, Any]:
    """Route keyword arguments for an operation deprecated on `since`, removed after `sunset`."""
    if sunset <= since:
        raise ValueError("the sunset comes after the deprecation")
    deprecated_at = datetime.combine(since, time(), tzinfo=UTC)
    headers = {
        "Deprecation": f"@{int(deprecated_at.timestamp())}",
        "Sunset": format_datetime(datetime.combine(sunset, time(), tzinfo=UTC), usegmt=True),
    }
    if successor is not None:
        headers["Link"] = f'<{successor}>; rel="successor-version"'

    async def announce(response: Response) -> None:
        response.headers.update(headers)

    extra: dict[str, Any] = {"x-sunset": sunset.isoformat()}
    if successor is not None:
        extra["x-successor"] = successor
    return {"deprecated": True, "dependencies": [Depends(announce)], "openapi_extra": extra}
