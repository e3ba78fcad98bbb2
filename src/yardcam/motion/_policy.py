"""Which frames of a motion event are archived: a small per-camera policy."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ArchivePolicy:
    """Which triggered frames of a motion event are handed on (to the uploader: archived).

    Always the event's first frame, so the archive knows at once that something happened, and
    its best frame (the highest ``change``), sent when the event ends if no earlier pick was it.
    In between, at most ``per_second`` frames per second of capture time (0: none in between).
    ``every_frame=True`` keeps every triggered frame, as yardcam did before it had events.

    At the defaults a person crossing the yard for 5 s (50 triggered frames at 10 fps) is
    archived as about 6 frames: the first, one a second, and the best one.

    >>> ArchivePolicy(per_second=0.5).interval
    2.0
    """

    per_second: float = 1.0
    every_frame: bool = False

    def __post_init__(self) -> None:
        if not (self.per_second >= 0 and math.isfinite(self.per_second)):
            raise ValueError(
                f"per_second must be a finite number >= 0, not {self.per_second!r} "
                "(for every frame, set every_frame)"
            )

    @property
    def interval(self) -> float:
        """Seconds of capture time between two frames picked in the middle of an event."""
        return math.inf if self.per_second == 0 else 1.0 / self.per_second
