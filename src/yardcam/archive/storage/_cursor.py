"""Opaque keyset-pagination cursors: the (ts, id) of the last row of the previous page."""

from __future__ import annotations

import base64
import binascii
import math


def encode_cursor(ts: float, frame_id: str) -> str:
    raw = f"{ts!r}|{frame_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, str]:
    """Inverse of :func:`encode_cursor`; ``ValueError`` for anything it did not produce."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        ts_text, frame_id = raw.split("|", 1)
        ts = float(ts_text)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ValueError("malformed cursor") from exc
    if not math.isfinite(ts) or not frame_id:
        raise ValueError("malformed cursor")
    return ts, frame_id
