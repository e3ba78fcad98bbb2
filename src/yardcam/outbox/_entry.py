"""What the outbox holds about one triggered frame, and its on-disk JSON form.

The JPEG bytes live next to the metadata (``<id>.jpg`` + ``<id>.json``); the metadata carries
the JPEG's size and sha256 so a damaged or truncated image is detected before it is sent.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from typing import Any

from yardcam.names import FRAME_KEY_PATTERN, check_cam_name, is_event_id

# The cam's id of a frame (see ``frame_id``), made before any upload and sent as the
# Idempotency-Key. Not the archive's frame id (``yardcam.archive.storage.FRAME_ID_PATTERN``),
# the server's own name for what it stored: one frame has both, and they never mix.
_FRAME_ID = re.compile(FRAME_KEY_PATTERN)
_FORMAT_VERSION = 1


class InvalidEntry(ValueError):
    """Metadata on disk that cannot be an outbox entry (hand-edited, or a disk error)."""


def frame_id(cam: str, ts: float, seq: int) -> str:
    """The stable id of a frame: ``<cam>-<capture ms>-<seq>``, also its ``Idempotency-Key``.

    Derived from the frame itself (not a random uuid), so enqueueing the same frame twice is
    recognised, and the archive can drop a resend after a crash.
    """
    if seq < 0:
        raise ValueError(f"seq must be >= 0: {seq}")
    return f"{check_cam_name(cam)}-{round(ts * 1000)}-{seq}"


def is_frame_id(name: str) -> bool:
    return _FRAME_ID.fullmatch(name) is not None


@dataclass(frozen=True, slots=True)
class Entry:
    """One pending frame. Immutable: a retry produces a new Entry via :meth:`deferred`."""

    id: str
    cam: str
    ts: float
    seq: int
    change: float
    size: int
    sha256: str
    enqueued: float
    event: str | None = None  # its motion event's id; None for frames queued without one
    attempts: int = 0
    next_attempt: float = 0.0
    last_error: str | None = None

    def deferred(self, *, next_attempt: float, error: str) -> Entry:
        return dataclasses.replace(
            self, attempts=self.attempts + 1, next_attempt=next_attempt, last_error=error
        )

    def to_json(self, **extra: Any) -> bytes:
        return json.dumps(
            {"version": _FORMAT_VERSION, **dataclasses.asdict(self), **extra}, sort_keys=True
        ).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> tuple[Entry, dict[str, Any]]:
        """Parse metadata; returns the entry and the extra keys (e.g. a dead letter's reason)."""
        try:
            doc = json.loads(raw)
        except ValueError as exc:
            raise InvalidEntry(f"unreadable metadata: {exc}") from exc
        if not isinstance(doc, dict) or doc.pop("version", None) != _FORMAT_VERSION:
            raise InvalidEntry("unknown metadata format")
        names = {f.name for f in dataclasses.fields(cls)}
        try:
            entry = cls(**{k: v for k, v in doc.items() if k in names})
        except TypeError as exc:
            raise InvalidEntry(f"incomplete metadata: {exc}") from exc
        for name, types in _FIELD_TYPES.items():
            value = getattr(entry, name)
            if isinstance(value, bool) or not isinstance(value, types):
                raise InvalidEntry(f"field {name!r} has the wrong type: {value!r}")
        if not is_frame_id(entry.id):
            raise InvalidEntry(f"bad frame id {entry.id!r}")
        if entry.event is not None and not is_event_id(entry.event):
            raise InvalidEntry(f"bad event id {entry.event!r}")
        return entry, {k: v for k, v in doc.items() if k not in names}


_NUMBER = (int, float)
_FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "id": str,
    "cam": str,
    "ts": _NUMBER,
    "seq": int,
    "change": _NUMBER,
    "size": int,
    "sha256": str,
    "enqueued": _NUMBER,
    "event": (str, type(None)),
    "attempts": int,
    "next_attempt": _NUMBER,
    "last_error": (str, type(None)),
}
