"""Debian's nginx as a plain reverse proxy in front of one service, for P3's comparison.

One worker process (the gateway is one process too), keep-alive connections to the service,
no access log, HTTP/1.1 upstream: the cheapest proxy that forwards the same request.
"""

import asyncio
import shutil
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

CONFIG = """
worker_processes 1;
error_log {prefix}/error.log warn;
pid {prefix}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    upstream service {{
        server 127.0.0.1:{upstream_port};
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://service;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}
    }}
}}
"""


def available() -> bool:
    return shutil.which("nginx") is not None


@asynccontextmanager
async def nginx_in_front(upstream_port: int, port: int, directory: Path) -> AsyncIterator[str]:
    """nginx listening on `port`, proxying to `upstream_port`; yields its base URL."""
    process = await asyncio.to_thread(_start, upstream_port, port, directory)
    url = f"http://127.0.0.1:{port}"
    try:
        await _until_listening(url, process)
        yield url
    finally:
        process.send_signal(signal.SIGQUIT)  # graceful: finish requests, then exit
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _start(upstream_port: int, port: int, directory: Path) -> subprocess.Popen[bytes]:
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "nginx.conf"
    config.write_text(
        CONFIG.format(prefix=directory, upstream_port=upstream_port, port=port), encoding="utf-8"
    )
    return subprocess.Popen(
        ["nginx", "-p", str(directory), "-c", str(config), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


async def _until_listening(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 15
    async with httpx.AsyncClient(timeout=2, trust_env=False) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                error = process.stderr.read().decode() if process.stderr else ""
                raise RuntimeError(f"nginx exited with {process.returncode}: {error}")
            try:
                await client.get(f"{url}/health/live")
                return
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    raise TimeoutError("nginx did not start listening in 15 s")
