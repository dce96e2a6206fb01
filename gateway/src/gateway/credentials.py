"""Secrets the gateway hands out (refresh tokens, API keys) and how it recognises them again.

Each is 256 random bits, so a plain SHA-256 of it is as hard to reverse as the secret is to guess:
the database keeps the digest only, and a leaked table gives no usable secret. Passwords, chosen by
people and so guessable, are hashed with argon2 instead (`gateway.passwords`).
"""

import hashlib
import secrets


def new_secret(prefix: str) -> str:
    """A fresh secret, `prefix` first so that a leaked one is recognisable (`pvk_...`)."""
    return f"{prefix}{secrets.token_urlsafe(32)}"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
