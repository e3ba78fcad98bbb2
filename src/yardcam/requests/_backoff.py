"""How long to wait before trying again: the one backoff policy of yardcam.

Used by the client's :class:`Retry`, the outbox uploader (per frame) and the camera hub (per
source restart), so a cam fleet that lost its archive, or a camera that dropped off the network,
is retried the same way everywhere: exponentially, capped, and jittered so that many cams coming
back together do not hit the server in lockstep.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = ["Backoff"]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Wait ``base * 2**(n-1)`` seconds before try ``n + 1`` (at most ``cap``), jittered into
    its upper half: the delay after failure ``n`` lies in ``[ceiling(n) / 2, ceiling(n)]``.

    ``base=0`` retries at once (tests). ``retry_after`` (a server's ``Retry-After``, seconds)
    is a floor: never try again earlier than the server asked.

    >>> b = Backoff(base=1.0, cap=8.0)
    >>> [b.ceiling(n) for n in (1, 2, 3, 4, 5)]
    [1.0, 2.0, 4.0, 8.0, 8.0]
    >>> all(2.0 <= b.delay(3) <= 4.0 for _ in range(100))
    True
    >>> b.delay(1, retry_after=30.0)
    30.0
    """

    base: float = 0.5
    cap: float = 30.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not 0 <= self.base <= self.cap:
            raise ValueError(f"need 0 <= base <= cap: base={self.base}, cap={self.cap}")

    def ceiling(self, failures: int) -> float:
        """The longest wait after ``failures`` consecutive failures (1-based)."""
        # The exponent is bounded so a long outage cannot overflow the float.
        return min(self.cap, self.base * 2 ** min(max(failures - 1, 0), 60))

    def delay(self, failures: int, *, retry_after: float | None = None) -> float:
        """Seconds to wait after ``failures`` consecutive failures; at least ``retry_after``."""
        ceiling = self.ceiling(failures)
        jittered = ceiling / 2 + self.rng.uniform(0, ceiling / 2)
        return max(jittered, retry_after or 0.0)
