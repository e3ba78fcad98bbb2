"""The outcome of every kind of upload result, and the backoff schedule."""

from __future__ import annotations

import email.utils
import random

import pytest

from yardcam.outbox import Backoff, Outcome, classify_error, classify_response
from yardcam.outbox._classify import MAX_RETRY_AFTER, parse_retry_after


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, Outcome.SENT),
        (201, Outcome.SENT),
        (401, Outcome.TOKEN_REJECTED),
        (403, Outcome.TOKEN_REJECTED),
        (400, Outcome.DEAD_LETTER),
        (413, Outcome.DEAD_LETTER),
        (415, Outcome.DEAD_LETTER),
        (408, Outcome.RETRY),
        (429, Outcome.RETRY),
        (500, Outcome.RETRY),
        (503, Outcome.RETRY),
        (404, Outcome.RETRY),
        (302, Outcome.RETRY),
    ],
)
def test_status_outcomes(status: int, outcome: Outcome) -> None:
    assert classify_response(status, "Reason", {}, b"").outcome is outcome


def test_reason_prefers_the_archives_error_text() -> None:
    verdict = classify_response(413, "Payload Too Large", {}, b'{"error": "frame over 8 MiB"}')
    assert verdict.reason == "413 frame over 8 MiB"
    assert classify_response(400, "Bad Request", {}, b"<html>").reason == "400 Bad Request"
    assert classify_response(400, "Bad Request", {}, b'["x"]').reason == "400 Bad Request"


def test_retry_after_seconds_and_date() -> None:
    verdict = classify_response(429, "Too Many", {"retry-after": "7"}, b"")
    assert (verdict.outcome, verdict.retry_after) == (Outcome.RETRY, 7.0)
    date = email.utils.formatdate(1_000_030, usegmt=True)
    assert parse_retry_after(date, now=1_000_000) == 30.0
    assert parse_retry_after(email.utils.formatdate(10, usegmt=True), now=1_000) == 0.0
    assert parse_retry_after("99999999") == MAX_RETRY_AFTER
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_transport_errors_are_retried() -> None:
    verdict = classify_error(ConnectionRefusedError(111, "connection refused"))
    assert verdict.outcome is Outcome.RETRY and "connection refused" in verdict.reason
    assert classify_error(TimeoutError()).reason == "TimeoutError: TimeoutError"


def test_backoff_grows_with_jitter_and_honours_retry_after() -> None:
    backoff = Backoff(base=1.0, cap=16.0, rng=random.Random(4))
    for failures, low, high in [(1, 0.5, 1), (2, 1, 2), (3, 2, 4), (5, 8, 16), (50, 8, 16)]:
        delays = {backoff.delay(failures) for _ in range(50)}
        assert all(low <= d <= high for d in delays) and len(delays) > 1
    assert backoff.delay(10_000) <= 16.0
    assert backoff.delay(1, retry_after=60.0) == 60.0
    with pytest.raises(ValueError):
        Backoff(base=0)
