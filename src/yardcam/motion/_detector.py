"""The detector coroutine: measure every frame it can get, fire when the change is high enough.

It never waits on anybody: it takes the newest frame from the hub (skipping any it was too busy
for), hands subscribers the event synchronously (they must only enqueue), and measures in a
worker thread, since decoding costs a few milliseconds a frame that other tasks on the loop (the
web app, the uploader) must not wait for (``benchmarks/motion.py`` measures both ways).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from yardcam.camera import Frame, FrameHub

from ._event import MotionEvent
from ._meter import ChangeMeter
from ._zones import Zone

log = logging.getLogger(__name__)


class MotionDetector:
    """Fires a :class:`MotionEvent` for each frame whose ``change`` is above ``threshold``.

    ``zones``/``masks``: where to look and where not (``Rect``/``Polygon``, frame pixels).
    ``min_frames``: fire only once the change has been above the threshold for that many
    consecutive frames (1: at once). ``cooldown``: seconds of capture time to stay quiet after a
    trigger (0: fire for every frame in motion). ``offload``: measure in a worker thread (the
    default; inline, a 1080p decode stalls the loop for ~5 ms). Other keywords (``scale``,
    ``min_fill``, ``floor``, ``sensitivity``, ``learn``, ``learn_changed``) tune the change
    measure; ``yardcam.motion._meter`` defines ``change``.

    >>> detector = MotionDetector(threshold=20)
    >>> detector.threshold = 15.5    # adjustable while running
    """

    def __init__(
        self,
        *,
        threshold: float = 12.0,
        zones: Sequence[Zone] = (),
        masks: Sequence[Zone] = (),
        min_frames: int = 1,
        cooldown: float = 0.0,
        offload: bool = True,
        **measure: Any,
    ) -> None:
        if min_frames < 1:
            raise ValueError("min_frames must be at least 1")
        if cooldown < 0:
            raise ValueError("cooldown must not be negative")
        self.threshold = threshold
        self.min_frames = min_frames
        self.cooldown = cooldown
        self.offload = offload
        self.meter = ChangeMeter(zones=zones, masks=masks, **measure)
        self.frame_count = 0
        self.trigger_count = 0
        self.skipped = 0  # frames published while the detector was busy with an earlier one
        self.bad_frames = 0
        self.last_change = 0.0
        self.last_motion: dict[str, float | int] | None = None
        self._subscribers: list[Callable[[MotionEvent], None]] = []
        self._streak = 0
        self._last_fired: float | None = None
        self._last_event: MotionEvent | None = None
        self._fired = asyncio.Event()

    @property
    def threshold(self) -> float:
        return self._threshold

    @threshold.setter
    def threshold(self, value: float) -> None:
        value = float(value)
        if not 0.0 <= value <= 100.0:
            raise ValueError(f"threshold must be within 0..100, not {value}")
        self._threshold = value

    def subscribe(self, callback: Callable[[MotionEvent], None]) -> None:
        """Call ``callback(event)`` on the loop for every trigger; it must not block."""
        self._subscribers.append(callback)

    async def wait_motion(self) -> MotionEvent:
        """The next trigger (the newest one, if several fire before this waiter runs)."""
        count = self.trigger_count
        while self.trigger_count == count or self._last_event is None:
            await self._fired.wait()
        return self._last_event

    def process(self, frame: Frame) -> MotionEvent | None:
        """Measure ``frame`` on the calling thread and decide; the event if it fired."""
        return self.decide(frame, self.meter.measure(frame.jpeg, frame.width, frame.height))

    def decide(self, frame: Frame, change: float) -> MotionEvent | None:
        """Account for a measured frame, and fire if it is motion."""
        self.frame_count += 1
        self.last_change = change
        if change <= self._threshold:
            self._streak = 0
            return None
        self._streak += 1
        if self._streak < self.min_frames:
            return None
        if self._last_fired is not None and frame.ts - self._last_fired < self.cooldown:
            return None
        self._last_fired = frame.ts
        self.trigger_count += 1
        event = MotionEvent(frame=frame, ts=frame.ts, count=self.trigger_count, change=change)
        self.last_motion = {"ts": event.ts, "count": event.count, "change": change}
        self._last_event = event
        fired, self._fired = self._fired, asyncio.Event()
        fired.set()
        for callback in self._subscribers:
            # A subscriber is another component (the uploader, the dashboard); its bug must not
            # stop detection for the others.
            try:
                callback(event)
            except Exception:
                log.exception("motion subscriber %r failed", callback)
        return event

    async def run(self, hub: FrameHub) -> None:
        """Measure the hub's newest frame, forever."""
        seq: int | None = None
        while True:
            frame = await hub.next_frame(seq)
            if seq is not None:
                self.skipped += frame.seq - seq - 1
            seq = frame.seq
            try:
                if self.offload:
                    change = await asyncio.to_thread(
                        self.meter.measure, frame.jpeg, frame.width, frame.height
                    )
                else:
                    change = self.meter.measure(frame.jpeg, frame.width, frame.height)
            except ValueError as exc:  # a corrupt JPEG from the camera: skip it, keep going
                self.bad_frames += 1
                log.warning("cannot measure frame %d: %s", frame.seq, exc)
                continue
            self.decide(frame, change)
