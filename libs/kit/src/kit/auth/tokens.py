"""Signed access tokens: issued by the gateway, verified by every service on its own.

Tokens are JWTs signed with Ed25519 (`EdDSA`), the one algorithm accepted: a token naming another
(`none` included) is refused before any key is looked at. The gateway publishes its public keys as
a JWKS; services fetch it (or are handed the keys when they share the gateway's process) and
require `exp`, `iat`, `iss`, `aud` and `sub` in every token. The role and unit scope travel as
the `role` and `units` claims.
"""

import asyncio
import hashlib
import os
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from uuid import uuid4

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt.algorithms import OKPAlgorithm
from jwt.utils import base64url_encode

from kit.auth.roles import Caller, Role

ALGORITHM = "EdDSA"
REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub")


class InvalidToken(Exception):
    """The token cannot be trusted; the message says why (safe to show to the caller)."""


class KeysUnavailable(Exception):
    """No signing key is known yet and the gateway's JWKS cannot be fetched: the fault is ours,
    not the caller's (answered 503, not 401)."""


def public_jwk(key: Ed25519PublicKey, kid: str) -> dict[str, Any]:
    jwk: dict[str, Any] = OKPAlgorithm.to_jwk(key, as_dict=True)
    return jwk | {"kid": kid, "alg": ALGORITHM, "use": "sig"}


class SigningKey:
    """The gateway's private key; its id is the RFC 7638 thumbprint of the public key."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self.private_key = private_key
        self.public_key = private_key.public_key()
        self.kid = _thumbprint(self.public_key)

    @classmethod
    def generate(cls) -> "SigningKey":
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_pem(cls, pem: bytes) -> "SigningKey":
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("The signing key must be an Ed25519 private key in PEM.")
        return cls(key)

    @classmethod
    def load_or_create(cls, path: Path) -> "SigningKey":
        """The key in `path`, created (readable by the owner only) when the file is missing."""
        if path.exists():
            return cls.from_pem(path.read_bytes())
        key = cls.generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(key.pem())
        return key

    def pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def jwks(self) -> dict[str, Any]:
        return {"keys": [public_jwk(self.public_key, self.kid)]}

    def issue(
        self,
        *,
        issuer: str,
        audience: str,
        subject: str,
        role: Role,
        unit_scope: tuple[str, ...] | None,
        lifetime: timedelta,
        now: datetime | None = None,
    ) -> str:
        issued = now or datetime.now(UTC)
        claims = {
            "iss": issuer,
            "aud": audience,
            "sub": subject,
            # To the microsecond (a NumericDate may have a fraction): a token issued in the same
            # second as a change of its holder's access must be told apart from the ones before.
            "iat": issued.timestamp(),
            "nbf": issued,
            "exp": issued + lifetime,
            "jti": uuid4().hex,
            "role": role.value,
            "units": list(unit_scope) if unit_scope is not None else None,
        }
        return jwt.encode(claims, self.private_key, algorithm=ALGORITHM, headers={"kid": self.kid})


def _thumbprint(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    members = f'{{"crv":"Ed25519","kty":"OKP","x":"{base64url_encode(raw).decode()}"}}'
    return base64url_encode(hashlib.sha256(members.encode()).digest()).decode()


class KeySource(Protocol):
    async def key(self, kid: str) -> Ed25519PublicKey | None: ...

    async def aclose(self) -> None: ...


class StaticKeys:
    """Keys handed over directly: a process that shares the gateway's, or a test."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        self._keys = _parse_jwks(jwks)

    async def key(self, kid: str) -> Ed25519PublicKey | None:
        return self._keys.get(kid)

    async def aclose(self) -> None:
        return None


class RemoteKeys:
    """The gateway's published JWKS, cached; an unknown key id triggers one early refetch."""

    def __init__(
        self,
        url: str,
        *,
        cache_seconds: float,
        refetch_interval_seconds: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._client = httpx.AsyncClient(timeout=5.0, transport=transport, trust_env=False)
        self._url = url
        self._cache_seconds = cache_seconds
        self._refetch_interval = refetch_interval_seconds
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> Ed25519PublicKey | None:
        age = time.monotonic() - self._fetched_at
        # A key the cache lacks may be new (rotation): refetch, but not on every forged token.
        if age > self._cache_seconds or (kid not in self._keys and age > self._refetch_interval):
            await self._refresh()
        return self._keys.get(kid)

    async def _refresh(self) -> None:
        async with self._lock:
            try:
                response = await self._client.get(self._url)
                response.raise_for_status()
                self._keys = _parse_jwks(response.json())
            except (httpx.HTTPError, ValueError) as error:
                if not self._keys:
                    raise KeysUnavailable(
                        f"The signing keys could not be fetched from {self._url}."
                    ) from error
                return  # keep serving the keys we have; retry at the next interval
            finally:
                self._fetched_at = time.monotonic()

    async def aclose(self) -> None:
        await self._client.aclose()


def _parse_jwks(jwks: dict[str, Any]) -> dict[str, Ed25519PublicKey]:
    keys: dict[str, Ed25519PublicKey] = {}
    for jwk in jwks.get("keys", []):
        if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or "kid" not in jwk:
            continue
        key = OKPAlgorithm.from_jwk(jwk)
        if isinstance(key, Ed25519PublicKey):
            keys[jwk["kid"]] = key
    return keys


class NotBeforeSource(Protocol):
    def not_before(self, subject: str) -> float | None:
        """Seconds since the epoch before which `subject`'s tokens are refused, if any."""


class TokenVerifier:
    """Verifies access tokens; a verified token's caller is remembered until the token expires.

    The same token arrives on every request of a client (and twice per request at the gateway),
    and its Ed25519 signature check is the dearest step. A remembered token is still refused once
    its `exp` has passed (no leeway is granted from memory) or once its key is no longer published
    (the key source is asked on every use, so a rotation refetch drops it). Tokens that fail are
    never remembered; the memory keeps the `max_remembered` most recently used. With `not_before`,
    a token issued before its subject's access last changed is refused, remembered or not.
    """

    def __init__(
        self,
        keys: KeySource,
        *,
        issuer: str,
        audience: str,
        leeway_seconds: float = 0,
        max_remembered: int = 4096,
        clock: Callable[[], float] = time.time,
        not_before: NotBeforeSource | None = None,
    ) -> None:
        self.keys = keys
        self.not_before = not_before
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway_seconds
        self._max_remembered = max_remembered
        self._clock = clock
        self._verified: OrderedDict[str, _Verified] = OrderedDict()

    async def verify(self, token: str) -> Caller:
        remembered = self._verified.get(token)
        if remembered is not None:
            if self._clock() < remembered.expires_at and await self.keys.key(remembered.kid):
                self._verified.move_to_end(token)
                self._check_not_before(remembered)
                return remembered.caller
            del self._verified[token]
        verified = await self._verify(token)
        self._check_not_before(verified)
        if self._clock() < verified.expires_at:
            self._verified[token] = verified
            if len(self._verified) > self._max_remembered:
                self._verified.popitem(last=False)
        return verified.caller

    def _check_not_before(self, verified: "_Verified") -> None:
        if self.not_before is None:
            return
        not_before = self.not_before.not_before(verified.caller.subject)
        if not_before is not None and verified.issued_at < not_before:
            raise InvalidToken(
                "The token was issued before its holder's access changed: get a new one."
            )

    async def _verify(self, token: str) -> "_Verified":
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as error:
            raise InvalidToken("The token is malformed.") from error
        if header.get("alg") != ALGORITHM:
            raise InvalidToken(f"Tokens must be signed with {ALGORITHM}.")
        kid = str(header.get("kid", ""))
        key = await self.keys.key(kid)
        if key is None:
            raise InvalidToken("The token's signing key is unknown or revoked.")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.ExpiredSignatureError as error:
            raise InvalidToken("The token has expired.") from error
        except jwt.ImmatureSignatureError as error:
            raise InvalidToken("The token is not valid yet.") from error
        except jwt.InvalidTokenError as error:
            raise InvalidToken(f"The token is invalid: {error}.") from error
        return _Verified(_caller(claims), kid, float(claims["exp"]), float(claims["iat"]))


@dataclass(frozen=True, slots=True)
class _Verified:
    caller: Caller
    kid: str
    expires_at: float  # the token's `exp`, seconds since the epoch
    issued_at: float  # its `iat`


def _caller(claims: dict[str, Any]) -> Caller:
    try:
        role = Role(str(claims.get("role")))
    except ValueError as error:
        raise InvalidToken("The token names no known role.") from error
    units = claims.get("units")
    if units is not None and not (
        isinstance(units, list) and all(isinstance(code, str) for code in units)
    ):
        raise InvalidToken("The token's unit scope is malformed.")
    return Caller(
        subject=str(claims["sub"]),
        role=role,
        unit_scope=tuple(units) if units is not None else None,
    )
