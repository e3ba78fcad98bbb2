"""One log line per interval for a failure that repeats many times a second.

A full disk drops every frame the camera triggers, a connection flood fails every accept():
one line each would bury the log (and fill the disk it may share). :class:`LogThrottle` logs the
first occurrence, folds the rest of the interval into a count, and says that count on the next
line. The counters that matter stay exact elsewhere (``Uploader.stats()``, ``/metrics``).

The lowest layer: every package may use it except ``requests``, which imports nothing of yardcam.

>>> import logging
>>> now = [0.0]
>>> warn = LogThrottle(logging.getLogger("doc"), 60.0, clock=lambda: now[0])
>>> [warn("disk full") for _ in range(3)] and warn.folded
2
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


class LogThrottle:
    """Log ``message`` at ``level`` at most once per ``interval`` seconds."""

    def __init__(
        self,
        logger: logging.Logger,
        interval: float,
        *,
        level: int = logging.WARNING,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger, self.interval, self.level = logger, interval, level
        self._clock = clock
        self._next = float("-inf")
        #: Occurrences not logged since the last line.
        self.folded = 0

    def __call__(self, message: str, *args: object) -> None:
        now = self._clock()
        if now < self._next:
            self.folded += 1
            return
        suffix = f" ({self.folded} more like it since the last report)" if self.folded else ""
        self.logger.log(self.level, message + suffix, *args)
        self._next, self.folded = now + self.interval, 0
