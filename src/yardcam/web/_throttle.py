"""Login throttle: slows password guessing per (username, client address).

After ``max_failures`` wrong passwords the key is locked for ``lockout`` seconds, doubling with
every further failure up to ``max_lockout``. A locked key is refused before any argon2 work, so a
guesser cannot turn the login form into a CPU sink. Keys are forgotten ``forget_after`` seconds
after their last failure, and at most ``max_keys`` are tracked (oldest dropped first) so memory
stays bounded under a spray of usernames.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Record:
    failures: int = 0
    locked_until: float = 0.0
    last_failure: float = 0.0


class LoginThrottle:
    def __init__(
        self,
        *,
        max_failures: int = 5,
        lockout: float = 30.0,
        max_lockout: float = 900.0,
        forget_after: float = 900.0,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.lockout = lockout
        self.max_lockout = max_lockout
        self.forget_after = forget_after
        self.max_keys = max_keys
        self._clock = clock
        self._records: OrderedDict[tuple[str, str], _Record] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, username: str, address: str) -> int | None:
        """Whole seconds until this key may try again, or None if it may try now."""
        with self._lock:
            record = self._current(self._key(username, address))
            if record is None:
                return None
            wait = record.locked_until - self._clock()
            return math.ceil(wait) if wait > 0 else None

    def failed(self, username: str, address: str) -> None:
        now = self._clock()
        key = self._key(username, address)
        with self._lock:
            record = self._current(key) or _Record()
            record.failures += 1
            record.last_failure = now
            over = record.failures - self.max_failures
            if over >= 0:
                record.locked_until = now + min(self.lockout * 2**over, self.max_lockout)
            self._records[key] = record
            self._records.move_to_end(key)
            while len(self._records) > self.max_keys:
                self._records.popitem(last=False)

    def succeeded(self, username: str, address: str) -> None:
        with self._lock:
            self._records.pop(self._key(username, address), None)

    @staticmethod
    def _key(username: str, address: str) -> tuple[str, str]:
        # Case-folded so "Admin" and "admin" share one budget.
        return (username.casefold(), address)

    def _current(self, key: tuple[str, str]) -> _Record | None:
        record = self._records.get(key)
        if record is None:
            return None
        now = self._clock()
        if now - record.last_failure > self.forget_after and now >= record.locked_until:
            del self._records[key]
            return None
        return record
