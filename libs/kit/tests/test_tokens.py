"""Verified tokens are remembered until they expire, and never beyond what makes them valid."""

import time
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kit.auth import InvalidToken, KeysUnavailable, RemoteKeys, Role, SigningKey, TokenVerifier
from kit.auth import tokens as tokens_module

ISSUER, AUDIENCE = "https://issuer.test", "platform"
KEY = SigningKey.generate()


class Keys:
    """Published keys that a test can withdraw, as a rotation does."""

    def __init__(self, *keys: SigningKey) -> None:
        self.published = {key.kid: key.public_key for key in keys}

    async def key(self, kid: str) -> Ed25519PublicKey | None:
        return self.published.get(kid)

    async def aclose(self) -> None:
        return None


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def issue(
    key: SigningKey = KEY, *, subject: str = "user:lan", lifetime: timedelta = timedelta(minutes=15)
) -> str:
    return key.issue(
        issuer=ISSUER,
        audience=AUDIENCE,
        subject=subject,
        role=Role.COMMUNE_OFFICER,
        unit_scope=("08707",),
        lifetime=lifetime,
    )


@pytest.fixture
def signature_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    checked: list[str] = []
    decode = jwt.decode

    def counted(token: str, *args: Any, **kwargs: Any) -> Any:
        checked.append(token)
        return decode(token, *args, **kwargs)

    monkeypatch.setattr(tokens_module.jwt, "decode", counted)
    return checked


def verifier(keys: Keys, clock: Clock | None = None, **options: Any) -> TokenVerifier:
    return TokenVerifier(
        keys, issuer=ISSUER, audience=AUDIENCE, clock=clock or time.time, **options
    )


class TestRememberedTokens:
    async def test_a_token_is_checked_once_then_answered_from_memory(
        self, signature_checks: list[str]
    ) -> None:
        tokens = verifier(Keys(KEY))
        token = issue()

        callers = [await tokens.verify(token) for _ in range(3)]

        assert len(signature_checks) == 1
        assert {caller.subject for caller in callers} == {"user:lan"}
        assert callers[0].unit_scope == ("08707",)

    async def test_a_remembered_token_is_checked_again_once_its_exp_has_passed(
        self, signature_checks: list[str]
    ) -> None:
        clock = Clock()
        tokens = verifier(Keys(KEY), clock)
        token = issue(lifetime=timedelta(minutes=1))
        await tokens.verify(token)

        clock.now += 61
        await tokens.verify(token)  # jwt's own clock has not moved: it still accepts it
        await tokens.verify(token)

        assert len(signature_checks) == 3

    async def test_an_expired_token_is_refused(self) -> None:
        tokens = verifier(Keys(KEY))
        token = issue(lifetime=timedelta(seconds=-1))

        with pytest.raises(InvalidToken, match="expired"):
            await tokens.verify(token)

    async def test_a_remembered_token_is_refused_once_its_key_is_withdrawn(self) -> None:
        keys = Keys(KEY)
        tokens = verifier(keys)
        token = issue()
        await tokens.verify(token)

        del keys.published[KEY.kid]

        with pytest.raises(InvalidToken, match="unknown or revoked"):
            await tokens.verify(token)
        keys.published[KEY.kid] = KEY.public_key  # and it is checked afresh, not from memory
        assert (await tokens.verify(token)).subject == "user:lan"

    async def test_a_refused_token_is_never_remembered(self, signature_checks: list[str]) -> None:
        other = SigningKey.generate()
        tokens = verifier(Keys(KEY))
        forged = jwt.encode(
            jwt.decode(issue(), options={"verify_signature": False}),
            other.private_key,
            algorithm="EdDSA",
            headers={"kid": KEY.kid},
        )

        for _ in range(2):
            with pytest.raises(InvalidToken, match="invalid"):
                await tokens.verify(forged)

        assert signature_checks.count(forged) == 2

    async def test_only_the_most_recently_used_tokens_are_remembered(
        self, signature_checks: list[str]
    ) -> None:
        tokens = verifier(Keys(KEY), max_remembered=2)
        first, second, third = (issue(subject=f"user:{name}") for name in ("a", "b", "c"))

        for token in (first, second, first, third, first, second):
            await tokens.verify(token)

        # `second` was the least recently used when `third` came, so it was checked again.
        assert signature_checks == [first, second, third, second]


class TestRemoteKeys:
    async def test_unreachable_keys_are_the_services_fault_not_the_callers(self) -> None:
        keys = RemoteKeys(
            "http://gateway/.well-known/jwks.json",
            cache_seconds=60,
            transport=httpx.MockTransport(lambda request: httpx.Response(503)),
        )
        verifier = TokenVerifier(keys, issuer="iss", audience="aud")
        key = SigningKey.generate()
        token = key.issue(
            issuer="iss",
            audience="aud",
            subject="u",
            role=Role.ADMIN,
            unit_scope=None,
            lifetime=timedelta(minutes=5),
        )

        with pytest.raises(KeysUnavailable):
            await verifier.verify(token)
        await keys.aclose()

    async def test_keys_once_fetched_keep_serving_while_the_gateway_is_down(self) -> None:
        key = SigningKey.generate()
        answers = iter([httpx.Response(200, json=key.jwks())])

        def gateway(request: httpx.Request) -> httpx.Response:
            return next(answers, httpx.Response(503))

        keys = RemoteKeys(
            "http://gateway/.well-known/jwks.json",
            cache_seconds=0,
            transport=httpx.MockTransport(gateway),
        )

        assert await keys.key(key.kid) is not None
        assert await keys.key(key.kid) is not None  # refetch failed: the known key stays
        await keys.aclose()


def signed(**changes: Any) -> str:
    """A token signed with the published key, its claims changed (None: the claim left out)."""
    claims = jwt.decode(issue(), options={"verify_signature": False})
    claims.update(changes)
    claims = {name: value for name, value in claims.items() if value is not None}
    return jwt.encode(claims, KEY.private_key, algorithm="EdDSA", headers={"kid": KEY.kid})


class TestIssuerAndAudience:
    """Validly signed tokens meant for someone else, or naming no one, are refused."""

    async def test_a_token_for_another_audience_is_refused(self) -> None:
        with pytest.raises(InvalidToken, match=r"(?i)audience"):
            await verifier(Keys(KEY)).verify(signed(aud="another-platform"))

    async def test_a_token_without_an_audience_is_refused(self) -> None:
        with pytest.raises(InvalidToken, match='"aud"'):
            await verifier(Keys(KEY)).verify(signed(aud=None))

    async def test_a_token_from_another_issuer_is_refused(self) -> None:
        with pytest.raises(InvalidToken, match=r"(?i)issuer"):
            await verifier(Keys(KEY)).verify(signed(iss="https://elsewhere.test"))

    async def test_a_token_without_an_issuer_is_refused(self) -> None:
        with pytest.raises(InvalidToken, match='"iss"'):
            await verifier(Keys(KEY)).verify(signed(iss=None))

    async def test_the_right_issuer_and_audience_are_accepted(self) -> None:
        caller = await verifier(Keys(KEY)).verify(signed())

        assert caller.subject == "user:lan"
