"""What an upload attempt's result means for the frame: sent, retry, token rejected, or dead.

Pure functions over a status code, headers and body (no I/O), so every rule is tested directly.

=====================================  ==========================================================
result                                 outcome
=====================================  ==========================================================
2xx                                    SENT: remove from the outbox
401, 403                               TOKEN_REJECTED: pause all uploads, re-read the token, probe
400, 413, 415                          DEAD_LETTER: the archive will never take this frame
408, 429, 5xx, OSError, timeout        RETRY with backoff (Retry-After honoured)
any other status (3xx, 404, 405...)    RETRY: a misconfigured URL must not destroy frames
=====================================  ==========================================================
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from yardcam.requests import parse_retry_after

_DEAD_STATUSES = frozenset({400, 413, 415})
_TOKEN_STATUSES = frozenset({401, 403})
_MAX_REASON = 200


class Outcome(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    TOKEN_REJECTED = "token rejected"
    DEAD_LETTER = "dead letter"


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    reason: str
    retry_after: float | None = None  # seconds, from the response's Retry-After header


def classify_response(
    status: int, reason: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None
) -> Verdict:
    """The verdict for an HTTP answer; ``reason`` prefers the archive's ``{"error": ...}``."""
    why = f"{status} {_error_text(body) or reason}".strip()[:_MAX_REASON]
    if 200 <= status < 300:
        return Verdict(Outcome.SENT, why)
    if status in _TOKEN_STATUSES:
        return Verdict(Outcome.TOKEN_REJECTED, why)
    if status in _DEAD_STATUSES:
        return Verdict(Outcome.DEAD_LETTER, why)
    return Verdict(Outcome.RETRY, why, parse_retry_after(headers.get("retry-after"), now=now))


def classify_error(exc: OSError) -> Verdict:
    """Every transport failure (refused, reset, TLS, timeout) is worth another try."""
    text = str(exc) or type(exc).__name__
    return Verdict(Outcome.RETRY, f"{type(exc).__name__}: {text}"[:_MAX_REASON])


def _error_text(body: bytes) -> str:
    try:
        doc = json.loads(body)
    except ValueError:
        return ""
    error = doc.get("error") if isinstance(doc, dict) else None
    return error if isinstance(error, str) else ""
