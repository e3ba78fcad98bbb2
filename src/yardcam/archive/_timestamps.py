"""The one way a person or a client names an instant: epoch seconds or ISO 8601.

Used by the API's ``since``/``until`` and by ``yardcam archive export --since/--until``, so a
value that works in one works in the other. A naive ISO time means UTC (the archive stores UTC
and a server's local zone is nobody's business); infinities and NaN are refused, since they
would reach date arithmetic and SQL comparisons.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

FORMATS = "epoch seconds or ISO 8601 (naive means UTC)"


def parse_timestamp(text: str) -> float:
    """``"1700000000.5"`` or ``"2026-12-05T10:00:00+01:00"`` -> epoch seconds; ValueError
    (saying what is accepted) for anything else."""
    try:
        value = float(text)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"expected {FORMATS}, got {text!r}") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        value = parsed.timestamp()
    if not math.isfinite(value):
        raise ValueError(f"expected a finite time ({FORMATS}), got {text!r}")
    return value
