"""The retry policy: which failures are worth another attempt, and how long to wait first.

Pure decisions, no I/O: the session flow asks :meth:`RetryState.delay_after_error` /
:meth:`RetryState.delay_after_status` and sleeps the returned seconds (or gives up on None).
The waits come from :class:`Backoff`; ``Retry-After`` is read by :func:`parse_retry_after`, the
one parser of that header in yardcam (the outbox uploader uses it too).

Safety rule: a request that may have reached the server is only replayed when replaying is harmless,
i.e. the method is idempotent (RFC 9110 9.2.2) or the request carries an ``Idempotency-Key`` header
the server uses to deduplicate. A failure to *connect* never reached the server, so it is retried
for every method.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

from yardcam.requests._backoff import Backoff
from yardcam.requests.exceptions import (
    ChunkedEncodingError,
    ConnectionError,
    ReadTimeout,
    RequestException,
    SSLError,
)

__all__ = [
    "IDEMPOTENT_METHODS",
    "MAX_RETRY_AFTER",
    "RETRY_STATUSES",
    "Retry",
    "RetryState",
    "parse_retry_after",
]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})
#: A Retry-After further out than this is read as this (a day): a typo or a broken proxy must
#: not park the cam's frames for a year.
MAX_RETRY_AFTER = 86_400.0


@dataclass(frozen=True, slots=True)
class Retry:
    """How many extra attempts to make and how to space them.

    ``total``: extra attempts after the first (0 disables retries). The wait before each comes
    from ``backoff`` (exponential, capped at ``backoff.cap``, jittered: see :class:`Backoff`). A
    ``Retry-After`` header on a 429/503 is a floor for that wait; one longer than
    ``backoff.cap`` ends the retries and the response is returned (the caller can schedule the
    work later). When the statuses keep coming, the last response is returned, or
    :class:`RetryError` is raised with ``raise_on_status=True``. Only failures up to the
    response head are retried; a body that breaks after it (ChunkedEncodingError while reading
    ``content``) reaches the caller.

    >>> Retry(total=3, backoff=Backoff(base=0.5, cap=10)).backoff.ceiling(2)
    1.0
    """

    total: int = 3
    backoff: Backoff = field(default_factory=Backoff)
    statuses: Collection[int] = RETRY_STATUSES
    respect_retry_after: bool = True
    raise_on_status: bool = False
    idempotent_methods: Collection[str] = field(default=IDEMPOTENT_METHODS)

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
        return self.policy.backoff.delay(self.attempts)

    def delay_after_status(
        self, status: int, retry_after: str | None, method: str, headers: object
    ) -> float | None:
        """Seconds to wait before retrying a response with ``status``, or None to keep it."""
        policy = self.policy
        if status not in policy.statuses or self.attempts >= policy.total:
            return None
        if not policy.replay_is_safe(method, headers):
            return None
        wanted = parse_retry_after(retry_after) if policy.respect_retry_after else None
        if wanted is not None and wanted > policy.backoff.cap:
            return None
        self.attempts += 1
        return policy.backoff.delay(self.attempts, retry_after=wanted)

    def exhausted_on_status(self, status: int) -> bool:
        return status in self.policy.statuses and self.attempts >= self.policy.total > 0


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (RFC 9110 10.2.3: delay-seconds or an
    HTTP-date, which is GMT), at most :data:`MAX_RETRY_AFTER`; None when absent or unparseable.

    >>> parse_retry_after("120"), parse_retry_after("soon"), parse_retry_after("99999999")
    (120.0, None, 86400.0)
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000" or no zone: not an HTTP-date, so not a time we can trust
        return None
    delay = when.timestamp() - (time.time() if now is None else now)
    return min(max(delay, 0.0), MAX_RETRY_AFTER)
