"""The embedded platform on an event loop of its own, for synchronous callers.

Schemathesis calls an ASGI app from its own event loop, in a thread of its own, while the embedded
platform's apps, database engines, bus and background tasks belong to the loop that started them.
`PlatformThread` runs the platform on a dedicated loop in a background thread, and `on_loop` gives
an ASGI app that any loop may call: each request runs on the platform's loop, its messages passed
across.
"""

import asyncio
import threading
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.config import Settings as GatewaySettings
from launcher.embedded import Platform, running_platform

T = TypeVar("T")
STARTUP_SECONDS = 120
_SERVER_ERROR_START: Message = {"type": "http.response.start", "status": 500, "headers": []}


class PlatformThread:
    """`with PlatformThread(data_dir) as running:` — `running.platform` until the block ends."""

    def __init__(self, data_dir: Path, *, gateway_settings: GatewaySettings | None = None) -> None:
        self._data_dir = data_dir
        self._gateway_settings = gateway_settings
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="embedded-platform", daemon=True
        )
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._main: Future[None] | None = None
        self._platform: Platform | None = None

    @property
    def platform(self) -> Platform:
        assert self._platform is not None, "the platform runs only inside the `with` block"
        return self._platform

    def gateway(self) -> ASGIApp:
        """The gateway app, callable from any event loop."""
        return on_loop(self.platform.gateway, self._loop)

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run `coroutine` on the platform's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def __enter__(self) -> "PlatformThread":
        self._thread.start()
        # One task enters and leaves `running_platform`: its lifespans hold cancel scopes that
        # must be exited by the task that entered them.
        self._main = asyncio.run_coroutine_threadsafe(self._run(), self._loop)
        self._main.add_done_callback(lambda _: self._ready.set())
        if not self._ready.wait(STARTUP_SECONDS):
            raise TimeoutError(f"The platform did not start within {STARTUP_SECONDS} s.")
        if self._main.done():
            self._main.result()  # raises what stopped it from starting
            raise RuntimeError("The platform stopped as soon as it started.")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if self._main is not None and self._stop is not None:
                self._loop.call_soon_threadsafe(self._stop.set)
                self._main.result()
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()

    async def _run(self) -> None:
        self._stop = asyncio.Event()
        async with running_platform(
            self._data_dir, gateway_settings=self._gateway_settings
        ) as platform:
            self._platform = platform
            self._ready.set()
            await self._stop.wait()


def on_loop(app: ASGIApp, loop: asyncio.AbstractEventLoop) -> ASGIApp:
    """`app` (already started on `loop`) as an ASGI app that any other loop may call.

    A lifespan scope is answered here, without reaching `app`: its lifespan has run already.
    """

    async def bridged(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _started_already(receive, send)
            return
        caller = asyncio.get_running_loop()
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        def back(call: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
            async def on_caller_loop(*args: Any) -> Any:
                coroutine = _awaited(call(*args))
                return await asyncio.wrap_future(
                    asyncio.run_coroutine_threadsafe(coroutine, caller)
                )

            return on_caller_loop

        handled = asyncio.run_coroutine_threadsafe(app(scope, back(receive), back(sending)), loop)
        try:
            await asyncio.wrap_future(handled)
        except Exception:
            # What a server does: Starlette has answered 500 and raises for the server to log
            # (the app logged it already); the caller sees the 500, as a client would.
            if not started:
                await send(_SERVER_ERROR_START)
                await send({"type": "http.response.body", "body": b""})

    return bridged


async def _awaited(awaitable: Awaitable[T]) -> T:
    return await awaitable


async def _started_already(receive: Receive, send: Send) -> None:
    while True:
        message: Message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
