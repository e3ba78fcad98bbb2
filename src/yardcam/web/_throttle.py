"""Login throttle: slows password guessing per (username, client address).

After ``max_failures`` wrong passwords the key is locked for ``lockout`` seconds, doubling with
every further failure up to ``max_lockout``. The address as a whole gets a larger budget
(``max_address_failures``), so cycling through usernames does not buy unlimited guesses. A
locked key is refused before any argon2 work, so a guesser cannot turn the login form into a CPU
sink. Keys are forgotten ``forget_after`` seconds after their last failure, and at most
``max_keys`` are tracked (oldest dropped first) so memory stays bounded under a spray of names.
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
        max_address_failures: int = 50,
        lockout: float = 30.0,
        max_lockout: float = 900.0,
        forget_after: float = 900.0,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.max_address_failures = max_address_failures
        self.lockout = lockout
        self.max_lockout = max_lockout
        self.forget_after = forget_after
        self.max_keys = max_keys
        self._clock = clock
        self._records: OrderedDict[tuple[str, str], _Record] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, username: str, address: str) -> int | None:
        """Whole seconds until this user at this address may try again, or None if now."""
        with self._lock:
            now = self._clock()
            keys = (self._key(username, address), self._address_key(address))
            records = [r for r in map(self._current, keys) if r is not None]
            wait = max((r.locked_until - now for r in records), default=0.0)
            return math.ceil(wait) if wait > 0 else None

    def failed(self, username: str, address: str) -> None:
        with self._lock:
            self._count(self._key(username, address), self.max_failures)
            self._count(self._address_key(address), self.max_address_failures)

    def _count(self, key: tuple[str, str], budget: int) -> None:
        now = self._clock()
        record = self._current(key) or _Record()
        record.failures += 1
        record.last_failure = now
        over = record.failures - budget
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

    @staticmethod
    def _address_key(address: str) -> tuple[str, str]:
        # No valid username is empty, so this key never collides with a user's.
        return ("", address)

    def _current(self, key: tuple[str, str]) -> _Record | None:
        record = self._records.get(key)
        if record is None:
            return None
        now = self._clock()
        if now - record.last_failure > self.forget_after and now >= record.locked_until:
            del self._records[key]
            return None
        return record
