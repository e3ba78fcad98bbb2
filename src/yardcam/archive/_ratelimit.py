"""Per-token token buckets: a misbehaving cam cannot starve the others (per node)."""

from __future__ import annotations

import math
import time


class RateLimiter:
    """``rate`` requests/s sustained with bursts of ``burst``; state is in memory, per node."""

    def __init__(self, rate: float, burst: int, *, max_keys: int = 100_000) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, updated)
        self._max_keys = max_keys

    def acquire(self, key: str) -> float:
        """Take one request for ``key``; 0.0 if allowed, else seconds until it would be."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        tokens, updated = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - updated) * self.rate)
        if tokens >= 1.0:
            if len(self._buckets) >= self._max_keys and key not in self._buckets:
                self._buckets.clear()  # bounded memory; a reset only ever grants a fresh burst
            self._buckets[key] = (tokens - 1.0, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / self.rate

    @staticmethod
    def retry_after(wait: float) -> str:
        return str(max(1, math.ceil(wait)))
