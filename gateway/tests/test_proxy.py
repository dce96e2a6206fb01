import json
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from asgi_lifespan import LifespanManager
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from starlette.types import Message, Receive, Scope, Send

from gateway.config import Settings
from gateway.main import create_app
from gateway.routes import ROUTES, UPSTREAMS
from kit.testing import bearer, free_port


class TestForwarding:
    async def test_forwards_method_path_query_and_body(self, serve) -> None:
        seen: list[httpx.Request] = []

        def households(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(201, json={"id": "h-1"})

        async with serve(households=households) as client:
            response = await client.post(
                "/api/v1/households/abc/members?tag=a&tag=b&q=x%20y",
                json={"full_name": "Nguyễn Thị Lan"},
            )

        assert response.status_code == 201
        assert response.json() == {"id": "h-1"}
        [upstream] = seen
        assert upstream.method == "POST"
        assert (upstream.url.host, upstream.url.port) == ("households.internal", 8001)
        assert upstream.url.path == "/api/v1/households/abc/members"
        assert upstream.url.params.get_list("tag") == ["a", "b"]
        assert upstream.url.params["q"] == "x y"
        assert json.loads(upstream.content) == {"full_name": "Nguyễn Thị Lan"}

    async def test_keeps_a_trailing_slash_for_the_service_to_judge(self, serve) -> None:
        seen: list[httpx.Request] = []

        async with serve(households=_recording(seen)) as client:
            response = await client.get("/api/v1/units/")

        assert response.status_code == 200
        [upstream] = seen
        assert upstream.url.path == "/api/v1/units/"

    async def test_keeps_percent_escapes_in_the_path(self, serve) -> None:
        seen: list[httpx.Request] = []

        async with serve(households=_recording(seen)) as client:
            await client.get("/api/v1/units/a%2Fb")

        [upstream] = seen
        assert upstream.url.raw_path == b"/api/v1/units/a%2Fb"

    async def test_a_request_without_a_body_is_sent_without_one(self, serve) -> None:
        seen: list[httpx.Request] = []

        async with serve(households=_recording(seen)) as client:
            await client.get("/api/v1/units")

        [upstream] = seen
        assert upstream.content == b""
        assert "transfer-encoding" not in upstream.headers

    async def test_forwards_a_head_request(self, serve) -> None:
        seen: list[httpx.Request] = []

        async with serve(households=_recording(seen)) as client:
            response = await client.head("/api/v1/households/h-1")

        assert response.status_code == 200
        [upstream] = seen
        assert upstream.method == "HEAD"

    async def test_streams_a_request_body_of_unknown_length(self, serve) -> None:
        seen: list[httpx.Request] = []

        async def upload() -> AsyncIterator[bytes]:
            for part in (b"ma_ho,ten\n", b"H-1,Lan\n", b"H-2,Minh\n"):
                yield part

        async with serve(households=_recording(seen)) as client:
            response = await client.post("/api/v1/households/imports", content=upload())

        assert response.status_code == 200
        [upstream] = seen
        assert upstream.content == b"ma_ho,ten\nH-1,Lan\nH-2,Minh\n"

    async def test_forwards_end_to_end_headers_and_drops_hop_by_hop_ones(self, serve) -> None:
        seen: list[httpx.Request] = []

        token = bearer()["Authorization"]

        async with serve(households=_recording(seen), headers={}) as client:
            await client.get(
                "/api/v1/units",
                headers=[
                    ("authorization", token),
                    ("accept-language", "vi"),
                    ("x-tag", "a"),
                    ("x-tag", "b"),
                    ("connection", "keep-alive, x-private"),
                    ("x-private", "for the gateway only"),
                    ("keep-alive", "timeout=5"),
                    ("te", "trailers"),
                    ("upgrade", "h2c"),
                    ("proxy-authorization", "Basic eA=="),
                ],
            )

        [upstream] = seen
        assert upstream.headers["authorization"] == token
        assert upstream.headers["accept-language"] == "vi"
        assert upstream.headers.get_list("x-tag") == ["a", "b"]
        for hop_by_hop in (
            "connection",
            "x-private",
            "keep-alive",
            "te",
            "upgrade",
            "proxy-authorization",
        ):
            assert hop_by_hop not in upstream.headers
        assert upstream.headers["host"] == "households.internal:8001"

    async def test_adds_no_headers_of_its_own_http_client(self, serve) -> None:
        seen: list[httpx.Request] = []

        async with serve(households=_recording(seen)) as client:
            await client.get("/api/v1/units", headers={"user-agent": "commune-app/1.0"})

        [upstream] = seen
        assert upstream.headers["user-agent"] == "commune-app/1.0"
        # The test client itself asks for gzip, so the check is that it is passed on unchanged.
        assert upstream.headers.get_list("accept-encoding") == ["gzip, deflate"]

    async def test_sets_forwarded_headers(self, serve) -> None:
        seen: list[httpx.Request] = []

        async with serve(households=_recording(seen)) as client:
            await client.get(
                "/api/v1/units",
                headers={"x-forwarded-for": "203.0.113.7", "x-forwarded-proto": "forged"},
            )

        [upstream] = seen
        assert upstream.headers["x-forwarded-for"] == "203.0.113.7, 127.0.0.1"
        assert upstream.headers["x-forwarded-proto"] == "http"
        assert upstream.headers["x-forwarded-host"] == "gateway"

    async def test_sends_the_callers_request_id_upstream_and_echoes_it(self, serve) -> None:
        seen: list[httpx.Request] = []

        async with serve(households=_recording(seen)) as client:
            response = await client.get("/api/v1/units", headers={"x-request-id": "r-1"})

        [upstream] = seen
        assert upstream.headers.get_list("x-request-id") == ["r-1"]
        assert response.headers.get_list("x-request-id") == ["r-1"]

    @pytest.mark.parametrize("given", ["x" * 65, "r 1; drop", 'a"b'])
    async def test_replaces_a_request_id_that_is_long_or_not_plain(self, serve, given) -> None:
        seen: list[httpx.Request] = []

        async with serve(households=_recording(seen)) as client:
            response = await client.get("/api/v1/units", headers={"x-request-id": given})

        [upstream] = seen
        assert upstream.headers["x-request-id"] != given
        assert len(upstream.headers["x-request-id"]) == 32
        assert response.headers["x-request-id"] == upstream.headers["x-request-id"]

    async def test_generates_a_request_id_when_the_caller_sends_none(self, serve) -> None:
        seen: list[httpx.Request] = []

        async with serve(households=_recording(seen)) as client:
            response = await client.get("/api/v1/units")

        [upstream] = seen
        assert upstream.headers["x-request-id"]
        assert response.headers["x-request-id"] == upstream.headers["x-request-id"]

    async def test_relays_status_and_end_to_end_response_headers(self, serve) -> None:
        def households(request: httpx.Request) -> httpx.Response:
            return httpx.Response(
                409,
                headers=[
                    ("content-type", "application/problem+json"),
                    ("etag", '"v2"'),
                    ("set-cookie", "a=1"),
                    ("set-cookie", "b=2"),
                    ("connection", "close"),
                    ("keep-alive", "timeout=5"),
                    ("x-request-id", "from-upstream"),
                ],
                content=b'{"status": 409}',
            )

        async with serve(households=households) as client:
            response = await client.put("/api/v1/households/h-1", headers={"x-request-id": "r-9"})

        assert response.status_code == 409
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["etag"] == '"v2"'
        assert response.headers.get_list("set-cookie") == ["a=1", "b=2"]
        assert "connection" not in response.headers
        assert "keep-alive" not in response.headers
        assert response.headers.get_list("x-request-id") == ["r-9"]
        assert response.content == b'{"status": 409}'

    async def test_streams_a_large_response_chunk_by_chunk(self, settings: Settings) -> None:
        chunk, count = b"x" * 64 * 1024, 32
        events: list[str] = []

        async def export() -> AsyncIterator[bytes]:
            for _ in range(count):
                events.append("upstream produced")
                yield chunk

        def households(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, content=export())

        app = create_app(settings, transports={"households": httpx.MockTransport(households)})
        async with LifespanManager(app) as manager:

            async def watched(scope: Scope, receive: Receive, send: Send) -> None:
                async def record(message: Message) -> None:
                    if message["type"] == "http.response.body" and message["body"]:
                        events.append("gateway sent")
                    await send(message)

                await manager.app(scope, receive, record)

            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=watched),
                base_url="http://gateway",
                headers=bearer(),
            ) as client:
                response = await client.get("/api/v1/households/export")

        assert response.content == chunk * count
        # Each chunk leaves before the next is produced: nothing is buffered in the gateway.
        assert events == ["upstream produced", "gateway sent"] * count

    async def test_passes_a_short_answer_on_in_one_piece(self, settings: Settings) -> None:
        sent: list[Message] = []

        def households(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, json={"id": "h-1", "village": "Thôn 3"})

        app = create_app(settings, transports={"households": httpx.MockTransport(households)})
        async with LifespanManager(app) as manager:

            async def watched(scope: Scope, receive: Receive, send: Send) -> None:
                async def record(message: Message) -> None:
                    sent.append(message)
                    await send(message)

                await manager.app(scope, receive, record)

            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=watched),
                base_url="http://gateway",
                headers=bearer(),
            ) as client:
                response = await client.get("/api/v1/households/h-1")

        assert response.json() == {"id": "h-1", "village": "Thôn 3"}
        assert [message["type"] for message in sent] == [
            "http.response.start",
            "http.response.body",
        ]
        assert not sent[1].get("more_body", False)


class TestHeaderBytes:
    """A field value may hold any byte from 0x80 up (RFC 9110 `obs-text`): passed on as it came."""

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("User-Agent", "Trình duyệt".encode()),
            ("If-Match", '"٣"'.encode()),
            ("Idempotency-Key", b"k\xe9y-\xff"),
            ("X-Custom", "Nguyễn".encode()),
        ],
    )
    async def test_a_request_header_reaches_the_service_byte_for_byte(
        self, serve, name: str, value: bytes
    ) -> None:
        seen: list[httpx.Request] = []

        async with serve(households=_recording(seen)) as client:
            response = await client.get("/api/v1/units", headers={name: value})

        assert response.status_code == 200
        [upstream] = seen
        assert [
            raw for key, raw in upstream.headers.raw if key.lower() == name.lower().encode()
        ] == [value]

    async def test_a_response_header_reaches_the_caller_byte_for_byte(self, serve) -> None:
        value = 'attachment; filename="Hộ nghèo.csv"'.encode()

        def households(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, headers=[(b"Content-Disposition", value)], content=b"x")

        async with serve(households=households) as client:
            response = await client.get("/api/v1/units")

        assert response.status_code == 200
        assert [
            raw for key, raw in response.headers.raw if key.lower() == b"content-disposition"
        ] == [value]


class TestUpstreamFailures:
    async def test_an_unreachable_upstream_is_a_502_problem_naming_it(self, serve) -> None:
        async with serve() as client:
            response = await client.get("/api/v1/standards")

        assert response.status_code == 502
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["status"] == 502
        assert "indicators" in problem["detail"]

    async def test_an_upstream_timeout_is_a_504_problem(self, serve) -> None:
        def indicators(request: httpx.Request) -> httpx.Response:
            raise httpx.ReadTimeout("timed out", request=request)

        async with serve(indicators=indicators) as client:
            response = await client.post("/api/v1/recalculations", json={})

        assert response.status_code == 504
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["status"] == 504
        assert "indicators" in problem["detail"]

    async def test_a_connect_timeout_is_also_a_504(self, serve) -> None:
        def notifications(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectTimeout("timed out", request=request)

        async with serve(notifications=notifications) as client:
            response = await client.get("/api/v1/notifications")

        assert response.status_code == 504


class TestRouting:
    @pytest.mark.parametrize(("prefix", "owner"), ROUTES.items())
    async def test_each_prefix_reaches_the_service_that_owns_it(
        self, serve, prefix: str, owner: str
    ) -> None:
        def answer_as(name: str) -> Callable[[httpx.Request], httpx.Response]:
            return lambda request: httpx.Response(200, json={"upstream": name})

        async with serve(**{name: answer_as(name) for name in UPSTREAMS}) as client:
            exact = await client.get(prefix)
            nested = await client.get(f"{prefix}/some-id")

        assert exact.json() == {"upstream": owner}
        assert nested.json() == {"upstream": owner}

    @pytest.mark.parametrize(
        "path", ["/api/v1/unitsX", "/api/v1/nowhere", "/api/v1", "/api/v1/admin"]
    )
    async def test_an_unknown_api_path_is_a_404_problem(self, serve, path: str) -> None:
        seen: list[httpx.Request] = []
        recording = _recording(seen)

        async with serve(
            households=recording, indicators=recording, notifications=recording
        ) as client:
            response = await client.get(path)

        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 404
        assert seen == []

    async def test_a_path_outside_the_api_is_a_404_problem(self, serve) -> None:
        async with serve() as client:
            response = await client.get("/elsewhere")

        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"

    async def test_dot_segments_are_never_routed(self, serve) -> None:
        seen: list[httpx.Request] = []

        async with serve(households=_recording(seen), indicators=_recording(seen)) as client:
            response = await client.send(
                httpx.Request("GET", "http://gateway/api/v1/units/../../api/v1/standards")
            )

        assert response.status_code == 404
        assert seen == []


class TestMetrics:
    async def test_counts_forwarded_requests_by_upstream_and_status_on_the_metrics_port(
        self, serve, settings: Settings
    ) -> None:
        port = free_port()
        with_listener = settings.model_copy(update={"METRICS_PORT": port})
        labels = {"method": "GET", "route": "/api/v1/{path}", "service": "gateway", "status": "200"}
        before = REGISTRY.get_sample_value("http_requests_total", labels) or 0.0
        async with serve(with_listener, households=lambda request: httpx.Response(200)) as client:
            await client.get("/api/v1/units")
            await client.get("/api/v1/units")
            await client.get("/api/v1/standards")
            public = await client.get("/metrics")
            async with httpx.AsyncClient() as scraper:
                metrics = await scraper.get(f"http://127.0.0.1:{port}/metrics")

        assert public.status_code == 404  # the public port does not show them
        assert metrics.status_code == 200
        assert metrics.headers["content-type"].startswith("text/plain")
        text = metrics.text
        assert 'gateway_upstream_requests_total{status="200",upstream="households"} 2.0' in text
        assert 'gateway_upstream_requests_total{status="502",upstream="indicators"} 1.0' in text
        assert "gateway_upstream_request_duration_seconds_bucket" in text
        # The process's own: requests by route template (the proxy's one catch-all route,
        # whatever the path), and the process collector.
        assert REGISTRY.get_sample_value("http_requests_total", labels) == before + 2
        assert 'http_requests_total{method="GET",route="/api/v1/{path}"' in text
        # (The registry is the process's: other apps tested in it have routes of that name.)
        gateway_routes = {
            sample.labels["route"]
            for family in text_string_to_metric_families(text)
            if family.name == "http_requests"
            for sample in family.samples
            if sample.labels.get("service") == "gateway" and "route" in sample.labels
        }
        assert gateway_routes
        assert "/api/v1/units" not in gateway_routes
        assert "process_resident_memory_bytes" in text

    async def test_without_a_metrics_port_nothing_serves_metrics(self, serve) -> None:
        async with serve() as client:
            assert (await client.get("/metrics")).status_code == 404


def test_an_unknown_transport_name_is_refused(settings: Settings) -> None:
    with pytest.raises(ValueError, match="reports"):
        create_app(
            settings, transports={"reports": httpx.MockTransport(lambda r: httpx.Response(200))}
        )


def _recording(seen: list[httpx.Request]) -> Callable[[httpx.Request], httpx.Response]:
    """An upstream that answers 200 and remembers what it was sent."""

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    return handler


class TestPublicPaths:
    async def test_an_unsubscribe_link_is_forwarded_without_a_token_and_nothing_else_is(
        self, serve
    ) -> None:
        seen: list[httpx.Request] = []

        def notifications(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(200, json={"unsubscribed": True})

        async with serve(notifications=notifications, headers={}) as anonymous:
            unsubscribed = await anonymous.post("/api/v1/unsubscribe", params={"token": "t"})
            page = await anonymous.get("/api/v1/unsubscribe", params={"token": "t"})
            subscriptions = await anonymous.get("/api/v1/subscriptions")
            below = await anonymous.get("/api/v1/unsubscribe/anything")

        assert (unsubscribed.status_code, page.status_code) == (200, 200)
        assert [request.url.path for request in seen] == ["/api/v1/unsubscribe"] * 2
        assert (subscriptions.status_code, below.status_code) == (401, 401)
