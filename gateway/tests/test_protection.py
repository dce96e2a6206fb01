"""What the gateway refuses before any service sees a request, and the headers it always adds."""

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from gateway.config import Settings
from gateway.protection.login import LoginThrottle
from gateway.protection.ratelimit import TokenBuckets
from kit.auth import Role
from kit.testing import bearer

ORIGIN = "https://app.example.vn"


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"ok": True})


class TestCallerIsKnownBeforeForwarding:
    async def test_a_request_without_a_token_is_refused_and_not_forwarded(self, serve) -> None:
        seen: list[httpx.Request] = []

        async with serve(households=lambda r: seen.append(r) or ok(r), headers={}) as client:
            response = await client.get("/api/v1/households")

        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.headers["content-type"] == "application/problem+json"
        assert seen == []

    async def test_an_expired_token_is_refused_and_not_forwarded(self, serve) -> None:
        seen: list[httpx.Request] = []
        expired = bearer(Role.ADMIN, lifetime=-timedelta(minutes=1))

        async with serve(households=lambda r: seen.append(r) or ok(r), headers=expired) as client:
            response = await client.get("/api/v1/households")

        assert response.status_code == 401
        assert "expired" in response.json()["detail"]
        assert seen == []


class TestRateLimit:
    @pytest.fixture
    def strict(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"RATE_LIMIT_PER_SECOND": 0.01, "RATE_LIMIT_BURST": 3})

    async def test_a_caller_over_its_burst_gets_429_with_retry_after(
        self, serve, strict: Settings
    ) -> None:
        async with serve(strict, households=ok) as client:
            answers = [await client.get("/api/v1/units") for _ in range(4)]

        assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
        refused = answers[-1]
        assert refused.headers["content-type"] == "application/problem+json"
        assert 90 <= int(refused.headers["retry-after"]) <= 100  # one request per 100 s

    async def test_each_caller_has_a_bucket_of_its_own(self, serve, strict: Settings) -> None:
        async with serve(strict, households=ok, headers={}) as client:
            lan = bearer(Role.ENUMERATOR, ("08707",), subject="user:lan")
            minh = bearer(Role.ENUMERATOR, ("08707",), subject="user:minh")
            for _ in range(3):
                await client.get("/api/v1/units", headers=lan)
            lan_again = await client.get("/api/v1/units", headers=lan)
            minh_first = await client.get("/api/v1/units", headers=minh)

        assert lan_again.status_code == 429
        assert minh_first.status_code == 200

    async def test_anonymous_callers_share_their_addresss_bucket(
        self, serve, strict: Settings
    ) -> None:
        async with serve(strict, headers={}) as client:
            answers = [await client.get("/api/v1/units") for _ in range(4)]
            forged = await client.get("/api/v1/units", headers={"Authorization": "Bearer x.y.z"})

        assert [answer.status_code for answer in answers] == [401, 401, 401, 429]
        assert forged.status_code == 429  # an invalid token is anonymous too

    def test_a_bucket_refills_at_its_rate(self) -> None:
        now = [0.0]
        buckets = TokenBuckets(rate=2.0, burst=2, clock=lambda: now[0])

        assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.5]
        now[0] = 0.5
        assert buckets.take("a") == 0.0
        assert buckets.take("a") == pytest.approx(0.5)

    def test_full_buckets_are_forgotten_when_there_are_too_many(self) -> None:
        now = [0.0]
        buckets = TokenBuckets(rate=1.0, burst=1, clock=lambda: now[0], max_keys=2)
        buckets.take("a")
        now[0] = 5.0
        buckets.take("b")
        buckets.take("c")

        assert set(buckets._buckets) == {"b", "c"}


class TestLoginAttempts:
    @pytest.fixture
    def limited(self, settings: Settings) -> Settings:
        return settings.model_copy(
            update={
                "LOGIN_FREE_FAILURES": 3,
                "LOGIN_FIRST_DELAY_SECONDS": 30,
                "LOGIN_ATTEMPTS_PER_MINUTE": 1,
                "LOGIN_ATTEMPTS_BURST": 5,
            }
        )

    async def test_guessing_from_one_address_is_slowed_down(
        self, serve, limited: Settings, accounts
    ) -> None:
        async with serve(limited, peer="203.0.113.9") as client:
            await accounts.create_user(client, "lan")
            guesses = [await accounts.login(client, "lan", f"guess {n}") for n in range(3)]
            right = await accounts.login(client, "lan")

        assert [guess.status_code for guess in guesses] == [401, 401, 401]
        assert right.status_code == 429
        assert 1 <= int(right.headers["retry-after"]) <= 30

    async def test_the_owner_from_another_address_logs_in_while_a_guesser_is_slowed(
        self, serve, limited: Settings, accounts
    ) -> None:
        # Behind a proxy, so that one gateway sees both clients.
        proxied = limited.model_copy(
            update={"TRUSTED_PROXIES": Settings(TRUSTED_PROXIES="10.0.0.2").TRUSTED_PROXIES}
        )
        guesser = {"x-forwarded-for": "203.0.113.9"}
        owner = {"x-forwarded-for": "198.51.100.20"}
        async with serve(proxied, peer="10.0.0.2") as client:
            await accounts.create_user(client, "lan")
            guesses = [
                await client.post(
                    "/api/v1/auth/token",
                    data={"grant_type": "password", "username": "lan", "password": f"guess {n}"},
                    headers=guesser,
                )
                for n in range(5)
            ]
            own = await client.post(
                "/api/v1/auth/token",
                data={"grant_type": "password", "username": "lan", "password": accounts.password},
                headers=owner,
            )

        assert [guess.status_code for guess in guesses] == [401, 401, 401, 429, 429]
        assert own.status_code == 200

    async def test_one_address_trying_many_users_is_slowed_down(
        self, serve, limited: Settings, accounts
    ) -> None:
        async with serve(limited) as client:
            tries = [await accounts.login(client, f"user{n}") for n in range(6)]

        assert [response.status_code for response in tries] == [401] * 5 + [429]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class TestLoginThrottle:
    def throttle(self, clock: Clock) -> LoginThrottle:
        return LoginThrottle(free_failures=3, first_delay=1, max_delay=60, clock=clock)

    def test_the_wait_doubles_with_each_failure_beyond_the_free_ones(self) -> None:
        clock = Clock()
        throttle = self.throttle(clock)
        assert [throttle.attempt("lan", "203.0.113.9") for _ in range(3)] == [0, 0, 0]
        waits = []
        for _ in range(8):
            wait = throttle.attempt("lan", "203.0.113.9")  # refused, however often
            assert throttle.attempt("lan", "203.0.113.9") == pytest.approx(wait)
            clock.now += wait
            assert throttle.attempt("lan", "203.0.113.9") == 0  # then one more try, failed
            waits.append(wait)

        assert waits == [1, 2, 4, 8, 16, 32, 60, 60]

    def test_a_success_starts_afresh(self) -> None:
        clock = Clock()
        throttle = self.throttle(clock)
        for _ in range(3):
            throttle.attempt("lan", "203.0.113.9")
        throttle.succeeded("lan", "203.0.113.9")

        assert [throttle.attempt("lan", "203.0.113.9") for _ in range(3)] == [0, 0, 0]

    def test_each_username_and_address_pair_is_throttled_on_its_own(self) -> None:
        clock = Clock()
        throttle = self.throttle(clock)
        for _ in range(3):
            throttle.attempt("lan", "203.0.113.9")

        assert throttle.attempt("lan", "203.0.113.9") == pytest.approx(1)
        assert throttle.attempt("lan", "198.51.100.20") == 0
        assert throttle.attempt("minh", "203.0.113.9") == 0

    def test_the_wait_never_exceeds_the_maximum_however_long_the_guessing(self) -> None:
        throttle = self.throttle(Clock())

        assert throttle.delay_after(10_000) == 60

    def test_failures_are_forgotten_after_an_idle_hour(self) -> None:
        clock = Clock()
        throttle = self.throttle(clock)
        for _ in range(3):
            throttle.attempt("lan", "203.0.113.9")

        clock.now += 3601
        assert [throttle.attempt("lan", "203.0.113.9") for _ in range(3)] == [0, 0, 0]


class TestTrustedProxies:
    """X-Forwarded-For names the client only when a configured proxy sends it."""

    @pytest.fixture
    def strict(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"RATE_LIMIT_PER_SECOND": 0.01, "RATE_LIMIT_BURST": 2})

    async def test_without_trusted_proxies_a_forged_address_does_not_buy_a_fresh_bucket(
        self, serve, strict: Settings
    ) -> None:
        async with serve(strict, headers={}, peer="127.0.0.1") as client:
            answers = [
                await client.get("/api/v1/units", headers={"x-forwarded-for": f"203.0.113.{n}"})
                for n in range(3)
            ]

        assert [answer.status_code for answer in answers] == [401, 401, 429]

    async def test_a_trusted_proxy_names_the_client_rightmost_untrusted_first(
        self, serve, strict: Settings
    ) -> None:
        proxied = strict.model_copy(
            update={"TRUSTED_PROXIES": Settings(TRUSTED_PROXIES="10.0.0.0/8").TRUSTED_PROXIES}
        )
        async with serve(proxied, headers={}, peer="10.0.0.2") as client:

            async def via_proxy(forwarded_for: str) -> int:
                headers = {"x-forwarded-for": forwarded_for}
                return (await client.get("/api/v1/units", headers=headers)).status_code

            # The client forged its own leftmost entry; the proxies (10.x) appended the rest.
            first = [await via_proxy(f"1.1.1.{n}, 198.51.100.7, 10.0.0.9") for n in range(3)]
            other_client = await via_proxy("198.51.100.8, 10.0.0.9")

        assert first == [401, 401, 429]  # one client, 198.51.100.7, whatever it forged
        assert other_client == 401  # its own bucket

    async def test_a_peer_outside_the_trusted_proxies_is_the_client(
        self, serve, strict: Settings
    ) -> None:
        proxied = strict.model_copy(
            update={"TRUSTED_PROXIES": Settings(TRUSTED_PROXIES="10.0.0.2").TRUSTED_PROXIES}
        )
        async with serve(proxied, headers={}, peer="192.0.2.50") as client:
            answers = [
                await client.get("/api/v1/units", headers={"x-forwarded-for": f"203.0.113.{n}"})
                for n in range(3)
            ]

        assert [answer.status_code for answer in answers] == [401, 401, 429]

    def test_proxies_read_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.1")

        assert [str(proxy) for proxy in Settings().TRUSTED_PROXIES] == [
            "10.0.0.0/8",
            "192.0.2.1/32",
        ]

    def test_a_malformed_proxy_is_refused_at_start(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TRUSTED_PROXIES", "proxy.internal")

        with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
            Settings()


async def chunks(size: int, count: int) -> AsyncIterator[bytes]:
    for _ in range(count):
        yield b"x" * size


class TestBodyLimit:
    @pytest.fixture
    def small(self, settings: Settings) -> Settings:
        return settings.model_copy(
            update={"MAX_BODY_BYTES": 1024, "MAX_IMPORT_BODY_BYTES": 64 * 1024}
        )

    async def test_an_announced_body_over_the_limit_is_413(self, serve, small: Settings) -> None:
        seen: list[httpx.Request] = []

        async with serve(small, households=lambda r: seen.append(r) or ok(r)) as client:
            response = await client.post("/api/v1/households", content=b"x" * 1025)

        assert response.status_code == 413
        assert response.headers["content-type"] == "application/problem+json"
        assert "1,024 bytes" in response.json()["detail"]
        assert seen == []

    async def test_a_streamed_body_without_length_is_cut_at_the_limit(
        self, serve, small: Settings
    ) -> None:
        received: list[int] = []

        async def households(request: httpx.Request) -> httpx.Response:
            received.append(len(await request.aread()))
            return httpx.Response(201)

        async with serve(small, households=households) as client:
            response = await client.post("/api/v1/households", content=chunks(512, 8))

        assert response.status_code == 413
        assert response.headers["content-type"] == "application/problem+json"
        assert received == []  # the service never got the whole body

    async def test_a_body_within_the_limit_passes(self, serve, small: Settings) -> None:
        async def households(request: httpx.Request) -> httpx.Response:
            return httpx.Response(201, json={"size": len(await request.aread())})

        async with serve(small, households=households) as client:
            announced = await client.post("/api/v1/households", content=b"x" * 1024)
            streamed = await client.post("/api/v1/households", content=chunks(256, 4))

        assert announced.json() == {"size": 1024}
        assert streamed.json() == {"size": 1024}

    async def test_imports_may_be_larger(self, serve, small: Settings) -> None:
        async def households(request: httpx.Request) -> httpx.Response:
            return httpx.Response(202, json={"size": len(await request.aread())})

        async with serve(small, households=households) as client:
            upload = await client.post("/api/v1/imports", content=chunks(1024, 32))
            too_big = await client.post("/api/v1/imports", content=chunks(1024, 65))

        assert upload.status_code == 202
        assert upload.json() == {"size": 32 * 1024}
        assert too_big.status_code == 413

    def test_the_default_limits(self) -> None:
        defaults = Settings.model_fields
        assert defaults["MAX_BODY_BYTES"].default == 1024 * 1024
        assert defaults["MAX_IMPORT_BODY_BYTES"].default == 256 * 1024 * 1024


class TestCors:
    async def test_no_origin_is_allowed_by_default(self, serve) -> None:
        async with serve(households=ok) as client:
            preflight = await client.options(
                "/api/v1/units",
                headers={
                    "Origin": "https://app.example.vn",
                    "Access-Control-Request-Method": "GET",
                },
            )
            simple = await client.get("/api/v1/units", headers={"Origin": "https://app.example.vn"})

        assert "access-control-allow-origin" not in preflight.headers
        assert "access-control-allow-origin" not in simple.headers

    async def test_a_configured_origin_may_call_with_a_token(
        self, serve, settings: Settings
    ) -> None:
        allowed = settings.model_copy(update={"CORS_ALLOW_ORIGINS": ["https://app.example.vn"]})
        async with serve(allowed, households=ok) as client:
            preflight = await client.options(
                "/api/v1/units",
                headers={
                    "Origin": "https://app.example.vn",
                    "Access-Control-Request-Method": "PUT",
                    "Access-Control-Request-Headers": "authorization, if-match, content-type",
                },
            )
            other = await client.options(
                "/api/v1/units",
                headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
            )
            simple = await client.get("/api/v1/units", headers={"Origin": "https://app.example.vn"})

        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://app.example.vn"
        assert "PUT" in preflight.headers["access-control-allow-methods"]
        assert "if-match" in preflight.headers["access-control-allow-headers"].lower()
        assert other.status_code == 400
        assert simple.headers["access-control-allow-origin"] == "https://app.example.vn"
        assert "etag" in simple.headers["access-control-expose-headers"].lower()

    def test_origins_read_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("CORS_ALLOW_ORIGINS", "https://a.example.vn, https://b.example.vn")
        assert Settings().CORS_ALLOW_ORIGINS == ["https://a.example.vn", "https://b.example.vn"]
        monkeypatch.setenv("CORS_ALLOW_ORIGINS", '["https://c.example.vn"]')
        assert Settings().CORS_ALLOW_ORIGINS == ["https://c.example.vn"]
        monkeypatch.setenv("CORS_ALLOW_ORIGINS", "")
        assert Settings().CORS_ALLOW_ORIGINS == []


class TestSecurityHeaders:
    @pytest.mark.parametrize(
        ("path", "headers"),
        [
            ("/api/v1/units", None),  # forwarded
            ("/api/v1/units", {}),  # refused: 401
            ("/api/v1/nowhere", None),  # 404
            ("/api/v1/admin/users", None),  # the gateway's own
            ("/health/live", None),
        ],
    )
    async def test_on_every_answer(self, serve, path: str, headers: dict[str, str] | None) -> None:
        async with serve(households=ok, headers=headers) as client:
            response = await client.get(path)

        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
        if path.startswith("/api/"):
            assert response.headers["cache-control"] == "no-store"

    async def test_an_api_answer_is_never_cached_whatever_the_service_says(self, serve) -> None:
        def cacheable(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, headers={"Cache-Control": "public, max-age=3600"})

        async with serve(households=cacheable) as client:
            response = await client.get("/api/v1/units")

        assert response.headers.get_list("cache-control") == ["no-store"]

    async def test_the_docs_page_may_load_swagger_ui_and_only_its_own_script(self, serve) -> None:
        async with serve() as client:
            response = await client.get("/docs")

        policy = response.headers["content-security-policy"]
        directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
        assert directives["script-src"].split()[0] == "'self'"
        assert "'sha256-" in directives["script-src"]
        assert "'unsafe-inline'" not in directives["script-src"]
        assert "https:" not in policy  # nothing from elsewhere: the page works offline
        assert directives["connect-src"] == "'self'"
        assert directives["frame-ancestors"] == "'none'"
        assert response.headers["x-frame-options"] == "DENY"
        assert '"persistAuthorization": true' in response.text
