"""What the detector hands to its subscribers when it fires."""

from __future__ import annotations

from dataclasses import dataclass

from yardcam.camera import Frame


@dataclass(frozen=True, slots=True)
class MotionEvent:
    """One trigger: the untouched full-resolution ``frame``, its time, the running trigger number
    ``count`` and the ``change`` (0..100) that fired it."""

    frame: Frame
    ts: float
    count: int
    change: float
