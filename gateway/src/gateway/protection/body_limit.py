"""Request bodies beyond a size are refused with 413, whether announced or streamed.

A `Content-Length` over the limit is answered at once, before anything is read. A body without
one (chunked) is counted as it streams through; the moment it passes the limit, reading it fails
and whatever the app was doing with it (forwarding it to a service, usually) is abandoned for the
413 — unless the app had already started answering, which a service does not do before reading
the whole body.
"""

from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kit.errors import Problem, ServiceError, problem_response


class PayloadTooLarge(ServiceError):
    status_code = 413
    title = "Content Too Large"


class BodyLimitMiddleware:
    """`limit` bytes for every request, or the larger one of the longest matching prefix."""

    def __init__(self, app: ASGIApp, *, limit: int, by_prefix: Mapping[str, int]) -> None:
        self.app = app
        self.limit = limit
        self.by_prefix = sorted(by_prefix.items(), key=lambda item: len(item[0]), reverse=True)

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.by_prefix:
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return limit
        return self.limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        announced = Headers(scope=scope).get("content-length")
        if announced is not None and announced.isdigit() and int(announced) > limit:
            await _refuse(limit, scope, receive, send)
            return
        received = 0
        exceeded = started = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise PayloadTooLarge(_detail(limit))
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # the app's answer to a body cut short; ours goes instead
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not exceeded or started:
                raise
        if exceeded and not started:
            await _refuse(limit, scope, receive, send)


def _detail(limit: int) -> str:
    return f"The request body is larger than this path accepts ({limit:,} bytes)."


async def _refuse(limit: int, scope: Scope, receive: Receive, send: Send) -> None:
    problem = Problem(title=PayloadTooLarge.title, status=413, detail=_detail(limit))
    # The rest of the body is not read: the connection closes after the answer.
    await problem_response(problem, {"Connection": "close"})(scope, receive, send)
