"""The retry policy: which failures are worth another attempt, and how long to wait first.

Pure decisions, no I/O: the session flow asks :meth:`Retry.delay_after_error` /
:meth:`Retry.delay_after_status` and sleeps the returned seconds (or gives up on None).

Safety rule: a request that may have reached the server is only replayed when replaying is harmless,
i.e. the method is idempotent (RFC 9110 9.2.2) or the request carries an ``Idempotency-Key`` header
the server uses to deduplicate. A failure to *connect* never reached the server, so it is retried
for every method.
"""

from __future__ import annotations

import random
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

from yardcam.requests.exceptions import (
    ChunkedEncodingError,
    ConnectionError,
    ReadTimeout,
    RequestException,
    SSLError,
)

__all__ = ["IDEMPOTENT_METHODS", "RETRY_STATUSES", "Retry", "RetryState", "parse_retry_after"]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class Retry:
    """How many extra attempts to make and how to space them.

    ``total``: extra attempts after the first (0 disables retries). The wait before attempt n is
    ``backoff_factor * 2 ** (n - 1)`` capped at ``backoff_max``, scaled by a random jitter in
    [0.5, 1] so many cams recovering together do not hit the server in lockstep. A ``Retry-After``
    header on a 429/503 replaces the computed wait; one longer than ``backoff_max`` ends the retries
    and the response is returned (the caller can schedule the work later).
    When the statuses keep coming, the last response is returned, or :class:`RetryError` is raised
    with ``raise_on_status=True``. Only failures up to the response head are retried; a body that
    breaks after it (ChunkedEncodingError while reading ``content``) reaches the caller.

    >>> Retry(total=3, backoff_factor=0.5).backoff(2, jitter=1.0)
    1.0
    """

    total: int = 3
    backoff_factor: float = 0.5
    backoff_max: float = 30.0
    statuses: Collection[int] = RETRY_STATUSES
    respect_retry_after: bool = True
    raise_on_status: bool = False
    idempotent_methods: Collection[str] = field(default=IDEMPOTENT_METHODS)

    def backoff(self, attempt: int, *, jitter: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        if jitter is None:
            jitter = random.uniform(0.5, 1.0)
        return min(self.backoff_max, self.backoff_factor * 2 ** (attempt - 1)) * jitter

    def replay_is_safe(self, method: str, headers: object) -> bool:
        """May a request that possibly reached the server be sent again?"""
        if method in self.idempotent_methods:
            return True
        return "Idempotency-Key" in headers  # type: ignore[operator]


@dataclass(slots=True)
class RetryState:
    """The attempts made so far for one call."""

    policy: Retry
    attempts: int = 0

    def delay_after_error(
        self, exc: RequestException, method: str, headers: object
    ) -> float | None:
        """Seconds to wait before retrying after ``exc``, or None to give up (re-raise)."""
        if self.attempts >= self.policy.total or isinstance(exc, SSLError):
            return None  # a certificate problem does not fix itself
        if isinstance(exc, ConnectionError) and exc.connect_failed:
            pass  # nothing reached the server: safe for every method
        elif isinstance(exc, ConnectionError | ReadTimeout | ChunkedEncodingError):
            if not self.policy.replay_is_safe(method, headers):
                return None
        else:
            return None
        self.attempts += 1
        return self.policy.backoff(self.attempts)

    def delay_after_status(
        self, status: int, retry_after: str | None, method: str, headers: object
    ) -> float | None:
        """Seconds to wait before retrying a response with ``status``, or None to keep it."""
        policy = self.policy
        if status not in policy.statuses or self.attempts >= policy.total:
            return None
        if not policy.replay_is_safe(method, headers):
            return None
        delay = policy.backoff(self.attempts + 1)
        if retry_after and policy.respect_retry_after:
            wanted = parse_retry_after(retry_after)
            if wanted is not None:
                if wanted > policy.backoff_max:
                    return None
                delay = wanted
        self.attempts += 1
        return delay

    def exhausted_on_status(self, status: int) -> bool:
        return status in self.policy.statuses and self.attempts >= self.policy.total > 0


def parse_retry_after(value: str) -> float | None:
    """``Retry-After`` (RFC 9110 10.2.3): delay-seconds or an HTTP-date; None when unparseable."""
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
