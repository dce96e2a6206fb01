"""Password guessing is slowed per username and client address, never stopped for the owner.

Each (username, client address) pair may fail `free_failures` times in a row at once; then each
attempt must wait `first_delay` after the previous one, the wait doubling with each further
failure up to `max_delay`. An attempt is counted as
a failure when it starts (so that concurrent guesses cannot slip past the count) and the pair is
forgotten when it succeeds. A guesser from one address is therefore slowed to one try per
`max_delay`, while the owner, from an address of its own, logs in at once; the per-address bucket
in front of it slows one address trying many usernames. Idle pairs are forgotten after
`forget_after`. Per gateway process, like the other buckets (`ratelimit`).
"""

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Failures:
    count: int
    next_allowed: float
    last_attempt: float


class LoginThrottle:
    def __init__(
        self,
        *,
        free_failures: int,
        first_delay: float,
        max_delay: float,
        forget_after: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self.free_failures = free_failures
        self.first_delay = first_delay
        self.max_delay = max_delay
        self._forget_after = max(forget_after, max_delay)
        self._clock = clock
        self._max_keys = max_keys
        self._pairs: dict[tuple[str, str], _Failures] = {}

    def attempt(self, username: str, address: str) -> float:
        """0 when the pair may try now (the try is counted as failed until `succeeded`), else
        the seconds to wait."""
        now = self._clock()
        key = (username, address)
        failures = self._pairs.get(key)
        if failures is not None and now - failures.last_attempt > self._forget_after:
            failures = None
        if failures is not None and now < failures.next_allowed:
            return failures.next_allowed - now
        count = failures.count + 1 if failures is not None else 1
        self._pairs[key] = _Failures(count, now + self.delay_after(count), now)
        if len(self._pairs) > self._max_keys:
            self._forget_idle(now)
        return 0.0

    def succeeded(self, username: str, address: str) -> None:
        self._pairs.pop((username, address), None)

    def delay_after(self, failures: int) -> float:
        """The wait imposed after `failures` failures in a row."""
        beyond = failures - self.free_failures
        if beyond < 0:
            return 0.0
        # Bounded before the power: 2.0 ** 1100 would overflow.
        return float(min(self.max_delay, self.first_delay * 2.0 ** min(beyond, 64)))

    def _forget_idle(self, now: float) -> None:
        self._pairs = {
            key: failures
            for key, failures in self._pairs.items()
            if now - failures.last_attempt <= self._forget_after
        }
