"""The webhook client on its own: kept-alive connections, a connection the server closed meanwhile,
the answer's size cap, redirects and timeouts, TLS checked against the URL's host."""

import asyncio
import datetime
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import h11
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from standardwebhooks.webhooks import Webhook

from bench.webhook_receiver import Receiver, running_receiver
from notifications.webhooks import signing
from notifications.webhooks.addresses import networks
from notifications.webhooks.client import Connections, Outcome, post

LOCAL = networks(["127.0.0.1/32"])
SECRET = signing.new_secret()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver() as running:
        yield running


@pytest.fixture
async def connections() -> AsyncIterator[Connections]:
    pool = Connections(connect_timeout=2, read_timeout=1)
    yield pool
    await pool.aclose()


async def send(
    connections: Connections, url: str, *, n: int = 0, max_response_bytes: int = 1000
) -> Outcome:
    return await post(
        connections, url=url, body=b'{"n": %d}' % n, message_id=f"msg_{n}",
        secrets_in_use=[SECRET], allowed=LOCAL, max_response_bytes=max_response_bytes,
    )  # fmt: skip


async def test_deliveries_to_one_receiver_reuse_one_kept_alive_connection(
    connections: Connections, receiver: Receiver
) -> None:
    outcomes = [await send(connections, receiver.url(f"/e{n}"), n=n) for n in range(5)]

    assert [o.status_code for o in outcomes] == [200] * 5
    assert len({request.peer for request in receiver.received}) == 1
    for request in receiver.received:  # each signed on its own
        Webhook(SECRET).verify(request.body, request.headers)


async def test_idle_connections_past_their_time_are_closed_whatever_the_origin(
    receiver: Receiver,
) -> None:
    pool = Connections(connect_timeout=2, read_timeout=1, keepalive_seconds=0.2)
    try:
        async with running_receiver() as other:
            await send(pool, receiver.url(), n=1)  # an endpoint not called again
            kept_at_first = pool.idle_count()
            await asyncio.sleep(1.1)
            await send(pool, other.url(), n=2)  # another origin (another port)
            kept_later = pool.idle_count()
    finally:
        await pool.aclose()

    assert kept_at_first == 1
    assert kept_later == 1  # the quiet endpoint's connection was closed, not kept for ever


async def test_concurrent_deliveries_each_have_a_connection_of_their_own(
    connections: Connections, receiver: Receiver
) -> None:
    outcomes = await asyncio.gather(*(send(connections, receiver.url(), n=n) for n in range(20)))

    assert all(o.succeeded for o in outcomes)
    assert sorted(int(r.headers["webhook-id"].removeprefix("msg_")) for r in receiver.received) == (
        list(range(20))
    )


Handler = Callable[[h11.Request, int], Awaitable[bytes | None]]


async def raw_server(handler: Handler) -> tuple[asyncio.Server, int, list[int]]:
    """An HTTP server answering each request with what `handler` returns for it (raw bytes), or
    closing the connection when it returns None; counts requests per connection."""
    per_connection: list[int] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        index = len(per_connection)
        per_connection.append(0)
        protocol = h11.Connection(h11.SERVER)
        try:
            while True:
                event = protocol.next_event()
                if event is h11.NEED_DATA:
                    data = await reader.read(65536)
                    if not data:
                        return
                    protocol.receive_data(data)
                elif isinstance(event, h11.Request):
                    request = event
                elif isinstance(event, h11.EndOfMessage):
                    per_connection[index] += 1
                    answer = await handler(request, per_connection[index])
                    if answer is None:
                        return
                    writer.write(answer)
                    await writer.drain()
                    protocol = h11.Connection(h11.SERVER)  # the next request on it
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, port, per_connection


OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"


async def test_a_kept_alive_connection_the_server_closed_is_replaced_and_the_delivery_sent(
    connections: Connections,
) -> None:
    async def answer_only_the_first(request: h11.Request, number: int) -> bytes | None:
        # A server whose keep-alive time ran out as the second request came in.
        return OK if number == 1 else None

    server, port, per_connection = await raw_server(answer_only_the_first)
    async with server:
        first = await send(connections, f"http://127.0.0.1:{port}/hook", n=1)
        second = await send(connections, f"http://127.0.0.1:{port}/hook", n=2)

    assert (first.status_code, second.status_code) == (200, 200)
    assert per_connection == [2, 1]  # the second request tried on the old one, then a new one


async def test_a_server_that_closes_a_new_connection_without_answering_is_a_failure(
    connections: Connections,
) -> None:
    async def never(request: h11.Request, number: int) -> bytes | None:
        return None

    server, port, per_connection = await raw_server(never)
    async with server:
        outcome = await send(connections, f"http://127.0.0.1:{port}/hook")

    assert outcome.succeeded is False
    assert outcome.error is not None
    assert "closed the connection" in outcome.error
    assert per_connection == [1]  # a new connection is not tried twice


async def test_an_answer_is_read_up_to_the_cap_only_and_a_redirect_is_not_followed(
    connections: Connections,
) -> None:
    async def answers(request: h11.Request, number: int) -> bytes | None:
        if request.target == b"/big":
            return b"HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n" + b"x" * 100_000
        return (
            b"HTTP/1.1 302 Found\r\nlocation: http://169.254.169.254/\r\ncontent-length: 0\r\n\r\n"
        )

    server, port, per_connection = await raw_server(answers)
    async with server:
        big = await send(connections, f"http://127.0.0.1:{port}/big", max_response_bytes=10)
        moved = await send(connections, f"http://127.0.0.1:{port}/moved")

    assert (big.succeeded, big.response_excerpt) == (True, "x" * 10)
    assert (moved.succeeded, moved.status_code, moved.error) == (False, 302, "answered 302")
    # The capped answer's connection was closed (its rest unread): the redirect came on a new one.
    assert per_connection == [1, 1]


async def test_a_receiver_that_does_not_answer_times_out(
    connections: Connections, receiver: Receiver
) -> None:
    receiver.hanging.add("/slow")

    outcome = await send(connections, receiver.url("/slow"))

    assert outcome.succeeded is False
    assert outcome.error == "ReadTimeout: no answer within 1 s"


async def test_an_address_refused_since_the_check_is_not_called(connections: Connections) -> None:
    outcome = await post(
        connections, url="http://127.0.0.1:9/hook", body=b"{}", message_id="msg_1",
        secrets_in_use=[SECRET], allowed=[], max_response_bytes=100,
    )  # fmt: skip

    assert outcome.succeeded is False
    assert outcome.error is not None
    assert outcome.error.startswith("refused:")


def _certificate(tmp_path: Path, host: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def test_https_goes_to_the_pinned_address_with_the_certificate_checked_against_the_host(
    tmp_path: Path,
) -> None:
    cert, key = _certificate(tmp_path, "localhost")
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert, key)
    trusting = ssl.create_default_context(cafile=str(cert))
    seen: list[str] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        seen.append(head.decode())
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
        writer.write(OK)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=served)
    port = server.sockets[0].getsockname()[1]
    pool = Connections(connect_timeout=2, read_timeout=2, tls=trusting)
    loopback = networks(["127.0.0.1/32", "::1/128"])
    try:
        async with server:
            by_name = await post(
                pool, url=f"https://localhost:{port}/hook", body=b"{}", message_id="msg_1",
                secrets_in_use=[SECRET], allowed=loopback, max_response_bytes=100,
            )  # fmt: skip
            by_address = await post(
                pool, url=f"https://127.0.0.1:{port}/hook", body=b"{}", message_id="msg_2",
                secrets_in_use=[SECRET], allowed=loopback, max_response_bytes=100,
            )  # fmt: skip
    finally:
        await pool.aclose()

    assert by_name.status_code == 200, by_name.error
    assert f"host: localhost:{port}" in seen[0].lower()
    # The certificate names localhost, not the address: refused.
    assert by_address.succeeded is False
    assert by_address.error is not None
    assert "certificate" in by_address.error.lower()
