"""What the detector hands its subscribers: triggers (frames to keep) and motion events.

A *trigger* (:class:`MotionEvent`, the name kept from before events existed) is one frame the
detector wants archived. A motion *event* (:class:`Event`) is a stretch of motion: consecutive
triggered frames, with gaps of at most ``gap`` seconds, from its first frame to its last. The
detector publishes an event three ways (:class:`EventPhase`): when it starts, now and then while
it runs, and once when it ends; each notice is a complete, immutable snapshot, so a subscriber
that only keeps the last one it saw always has the whole story.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from yardcam.camera import Frame


@dataclass(frozen=True, slots=True)
class MotionEvent:
    """One trigger: the untouched full-resolution ``frame``, its time, the running trigger number
    ``count``, the ``change`` (0..100) it had, and the id of the motion event it belongs to
    (``None`` only for frames handed over outside the detector)."""

    frame: Frame
    ts: float
    count: int
    change: float
    event: str | None = None


class EventPhase(StrEnum):
    """Which notice an :class:`Event` snapshot is: the first, one of the middle ones, the last."""

    START = "start"
    UPDATE = "update"
    END = "end"


@dataclass(frozen=True, slots=True)
class Event:
    """A snapshot of one motion event, as of the notice it came with (``phase``).

    ``id`` is ``"<start in ms>-<seq of the first frame>"``: unique per camera, and with the cam's
    name in front (``"<cam>-<id>"``) it is the archive's id of the event's first frame, which is
    always archived. ``start``/``end`` are the capture times of its first and latest triggered
    frames; ``frames`` counts its triggered frames, ``archived`` those handed to the triggers'
    subscribers; ``best`` is the frame with the highest change (``peak_change``), the one where
    the most moved among equals (``_grouping`` says why).
    """

    id: str
    phase: EventPhase
    start: float
    end: float
    frames: int
    archived: int
    peak_change: float
    best: Frame

    @property
    def duration(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        """The snapshot as JSON-ready values (the best frame by its ``seq`` and ``ts``)."""
        return {
            "id": self.id,
            "phase": self.phase.value,
            "start": self.start,
            "end": self.end,
            "duration": self.duration,
            "frames": self.frames,
            "archived": self.archived,
            "peak_change": self.peak_change,
            "best_seq": self.best.seq,
            "best_ts": self.best.ts,
        }
