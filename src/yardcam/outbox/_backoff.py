"""Exponential backoff with jitter, so a cam fleet does not retry in lockstep after an outage."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Backoff:
    """``delay(n)``: ``base * 2**(n-1)`` capped at ``cap``, the upper half jittered.

    >>> b = Backoff(base=1.0, cap=8.0)
    >>> all(2.0 <= b.delay(3) <= 4.0 for _ in range(100))
    True
    >>> b.delay(1, retry_after=30.0)
    30.0
    """

    base: float = 2.0
    cap: float = 300.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not 0 < self.base <= self.cap:
            raise ValueError(f"need 0 < base <= cap: base={self.base}, cap={self.cap}")

    def delay(self, failures: int, *, retry_after: float | None = None) -> float:
        """Seconds to wait; never earlier than the server's ``retry_after``."""
        ceiling = min(self.cap, self.base * 2 ** min(max(failures - 1, 0), 60))
        jittered = ceiling / 2 + self.rng.uniform(0, ceiling / 2)
        return max(jittered, retry_after or 0.0)
