"""The outcome of every kind of upload result (the backoff and Retry-After parser it uses are
yardcam.requests', tested in tests/requests)."""

from __future__ import annotations

import email.utils

import pytest

from yardcam.outbox import Outcome, classify_error, classify_response


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
    assert (
        classify_response(503, "Busy", {"retry-after": date}, b"", now=1_000_000).retry_after == 30
    )
    assert classify_response(503, "Busy", {}, b"").retry_after is None


def test_transport_errors_are_retried() -> None:
    verdict = classify_error(ConnectionRefusedError(111, "connection refused"))
    assert verdict.outcome is Outcome.RETRY and "connection refused" in verdict.reason
    assert classify_error(TimeoutError()).reason == "TimeoutError: TimeoutError"
