"""Password hashing with argon2id (argon2-cffi), off the event loop: a hash takes tens of ms;
and the policy a new password must meet."""

import asyncio
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

_hasher = PasswordHasher()
# Verified against when the user does not exist, so that an unknown name costs as much time as a
# wrong password and the answer's timing does not tell which names exist.
_DUMMY_HASH = _hasher.hash("no such user")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches; with no hash, spends the same time and answers False."""

    def check() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's defaults."""
    return _hasher.check_needs_rehash(password_hash)


@dataclass(frozen=True)
class PasswordPolicy:
    """What a new password must be, after NIST SP 800-63B: long enough, and not guessable.

    No composition rules (a digit, a capital, a symbol) and no expiry, as the guidance asks.
    Guessability is zxcvbn's estimate, which knows lists of common and leaked passwords, common
    words and names, repeats (`aaaaaaaaaa`), sequences (`1234567890`), keyboard walks and dates,
    and here the username too: a password it expects to fall within 10^8 guesses (its score
    below 3) is refused.
    """

    min_length: int

    def problem(self, password: str, *, username: str) -> str | None:
        """Why `password` is refused for `username`, or None."""
        if len(password) < self.min_length:
            return f"The password must have at least {self.min_length} characters."
        if username.lower() in password.lower():
            return "The password must not contain the username."
        # zxcvbn refuses more than 72 characters; what lies past them only adds to the guesses
        # needed, so the estimate of the start is a lower bound.
        estimate = zxcvbn(
            password[:ZXCVBN_MAX_LENGTH], user_inputs=[username, *username.split(".")]
        )
        if estimate["score"] >= GUESSABLE_BELOW_SCORE:
            return None
        warning = estimate["feedback"]["warning"]
        because = f" ({warning.rstrip('.')})" if warning else ""
        return (
            f"The password is too easy to guess{because}: use a longer phrase of unrelated "
            "words, not a common password, a repetition, a sequence or the username."
        )


# zxcvbn's score 3: "safely unguessable", more than 10^8 guesses.
GUESSABLE_BELOW_SCORE = 3
ZXCVBN_MAX_LENGTH = 72
