"""The detector coroutine: measure every frame it can get, group motion into events, hand on
the frames the archiving policy picks.

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

from ._event import Event, EventPhase, MotionEvent
from ._grouping import EventGrouper, Keep
from ._meter import ChangeMeter
from ._policy import ArchivePolicy
from ._zones import Zone

log = logging.getLogger(__name__)


class MotionDetector:
    """Groups frames whose ``change`` is above ``threshold`` into motion events, and hands on
    the frames of each event that ``policy`` picks.

    Two streams, both called on the loop, in order, and never allowed to block:
    :meth:`subscribe` gets a :class:`MotionEvent` for every picked frame (the uploader archives
    them), :meth:`subscribe_events` an :class:`Event` snapshot at each event's start, updates and
    end (``yardcam.motion._grouping`` states the rules).

    ``zones``/``masks``: where to look and where not (``Rect``/``Polygon``, frame pixels).
    ``min_frames``: an event starts only once the change has been above the threshold for that
    many consecutive frames (default 2, so a one-frame flash never starts one; 1: at once);
    inside an event every frame above it counts.
    ``gap``: seconds of capture time without a firing frame that end an event. ``cooldown``:
    seconds after an event ends before another may start. ``policy``: which frames of an event
    to hand on (:class:`ArchivePolicy`; default: the first, the best and one a second).
    ``offload``: measure in a worker thread (the default; inline, a 1080p decode stalls the loop
    for ~5 ms). Other keywords (``scale``, ``floor``, ``sensitivity``, ``learn``,
    ``learn_changed``) tune the change measure; ``yardcam.motion._meter`` defines ``change``.

    >>> detector = MotionDetector(threshold=20)
    >>> detector.threshold = 15.5    # adjustable while running
    """

    def __init__(
        self,
        *,
        threshold: float = 12.0,
        zones: Sequence[Zone] = (),
        masks: Sequence[Zone] = (),
        min_frames: int = 2,
        gap: float = 3.0,
        cooldown: float = 0.0,
        policy: ArchivePolicy | None = None,
        offload: bool = True,
        **measure: Any,
    ) -> None:
        if min_frames < 1:
            raise ValueError("min_frames must be at least 1")
        self.threshold = threshold
        self.min_frames = min_frames
        self.offload = offload
        self.meter = ChangeMeter(zones=zones, masks=masks, **measure)
        self.grouper = EventGrouper(gap=gap, cooldown=cooldown, policy=policy)
        self.frame_count = 0
        self.trigger_count = 0  # frames handed to subscribe() callbacks; the dashboard may reset it
        # The same count, never reset: what /metrics exports as a counter (a Prometheus counter
        # that goes down reads as a restart, and rate() over it is wrong) and what wait_motion
        # watches (after a reset, trigger_count may come back to the value a waiter saw).
        self.triggers_total = 0
        self.event_count = 0  # events started
        self.skipped = 0  # frames published while the detector was busy with an earlier one
        self.bad_frames = 0
        self.last_change = 0.0
        self.firing = False  # whether the latest frame fired: started or joined an event
        self.last_motion: dict[str, float | int | str | None] | None = None
        self.last_event: Event | None = None  # the latest notice of any event
        self._subscribers: list[Callable[[MotionEvent], None]] = []
        self._event_subscribers: list[Callable[[Event], None]] = []
        self._streak = 0
        self._last_trigger: MotionEvent | None = None
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

    @property
    def policy(self) -> ArchivePolicy:
        return self.grouper.policy

    @policy.setter
    def policy(self, value: ArchivePolicy) -> None:
        """Takes effect from the next frame, in the running event too."""
        self.grouper.policy = value

    @property
    def current_event(self) -> Event | None:
        """The event in progress, as of its latest frame, or None."""
        return self.grouper.current

    def subscribe(self, callback: Callable[[MotionEvent], None]) -> None:
        """Call ``callback(trigger)`` on the loop for every frame handed on; it must not block."""
        self._subscribers.append(callback)

    def subscribe_events(self, callback: Callable[[Event], None]) -> None:
        """Call ``callback(event)`` on the loop for every event notice (start, updates, end);
        it must not block."""
        self._event_subscribers.append(callback)

    async def wait_motion(self) -> MotionEvent:
        """The next trigger (the newest one, if several fire before this waiter runs)."""
        count = self.triggers_total
        while self.triggers_total == count or self._last_trigger is None:
            await self._fired.wait()
        return self._last_trigger

    def process(self, frame: Frame) -> MotionEvent | None:
        """Measure ``frame`` on the calling thread and decide; the trigger for this very frame
        if it was handed on."""
        change = self.meter.measure(frame.jpeg, frame.width, frame.height)
        return self.decide(frame, change, self.meter.moved)

    def decide(self, frame: Frame, change: float, moved: int = 0) -> MotionEvent | None:
        """Account for a measured frame and publish what follows from it; the trigger for this
        very frame if it was handed on (a best frame handed on at an event's end is another).
        ``moved`` (``ChangeMeter.moved``) picks the best frame among frames of equal change."""
        self.frame_count += 1
        self.last_change = change
        above = change > self._threshold
        self._streak = self._streak + 1 if above else 0
        fires = above and (self.grouper.running or self._streak >= self.min_frames)
        steps = self.grouper.step(frame, change, fires, moved)
        self.firing = self.grouper.joined
        return self._publish(steps, frame)

    def end_event(self, now: float) -> None:
        """End the running event at capture time ``now`` (a source that stopped, a shutdown)."""
        self._publish(self.grouper.close(now), None)

    def _publish(self, steps: list[Event | Keep], frame: Frame | None) -> MotionEvent | None:
        mine = None
        for step in steps:
            if isinstance(step, Event):
                self.last_event = step
                if step.phase is EventPhase.START:
                    self.event_count += 1
                _call_each(self._event_subscribers, step)
                continue
            self.trigger_count += 1
            self.triggers_total += 1
            trigger = MotionEvent(
                frame=step.frame,
                ts=step.frame.ts,
                count=self.trigger_count,
                change=step.change,
                event=step.event,
            )
            if step.frame is frame:
                mine = trigger
            self.last_motion = {
                "ts": trigger.ts,
                "count": trigger.count,
                "change": trigger.change,
                "event": trigger.event,
            }
            self._last_trigger = trigger
            fired, self._fired = self._fired, asyncio.Event()
            fired.set()
            _call_each(self._subscribers, trigger)
        return mine

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
            self.decide(frame, change, self.meter.moved)  # (the meter is idle until the next)


def _call_each(callbacks: Sequence[Callable[[Any], None]], item: object) -> None:
    for callback in callbacks:
        # A subscriber is another component (the uploader, the dashboard); its bug must not
        # stop detection for the others.
        try:
            callback(item)
        except Exception:
            log.exception("motion subscriber %r failed", callback)
