"""A local webhook receiver for tests and the bench: a real HTTP server on 127.0.0.1 that records
what arrives and answers as told per path (status, or hanging)."""

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    peer: str = ""  # the client's address and port: one per connection


@dataclass
class Receiver:
    port: int
    received: list[Received] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)  # per path; 200 otherwise
    hanging: set[str] = field(default_factory=set)
    # Set when the server stops: the hanging requests then end (503) rather than being cut.
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def running_receiver(port: int | None = None) -> AsyncIterator[Receiver]:
    receiver = Receiver(port=port or free_port())

    async def hook(request: Request) -> Response:
        path = request.url.path
        if path in receiver.hanging:
            await receiver.released.wait()
            return Response("gone", status_code=503)
        peer = f"{request.client.host}:{request.client.port}" if request.client else ""
        body = await request.body()
        receiver.received.append(Received(path, dict(request.headers), body, peer))
        return Response("thanks", status_code=receiver.statuses.get(path, 200))

    app = Starlette(routes=[Route("/{rest:path}", hook, methods=["POST"])])
    config = uvicorn.Config(
        app, host="127.0.0.1", port=receiver.port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
        await asyncio.sleep(0.01)
    try:
        yield receiver
    finally:
        receiver.released.set()
        server.should_exit = True
        server.force_exit = True
        await asyncio.wait([task], timeout=5)
        task.cancel()


async def _serve_alone(port: int, hanging: list[str]) -> None:
    async with running_receiver(port=port) as receiver:
        receiver.hanging.update(hanging)
        await asyncio.Event().wait()


if __name__ == "__main__":
    # `python -m bench.webhook_receiver PORT [HANGING_PATH ...]`: the receiver in a process of its
    # own, so that the bench measures the delivery worker's CPU apart from the receiver's.
    import sys

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_alone(int(sys.argv[1]), sys.argv[2:]))
