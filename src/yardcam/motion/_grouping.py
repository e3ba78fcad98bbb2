"""From per-frame verdicts to motion events and the frames to archive; no I/O, no clock.

The rules, in capture time (``Frame.ts``):

* An event starts at a frame that fires while no event runs, unless it falls within
  ``cooldown`` seconds of the moment the previous event was closed.
* Every later frame that fires joins it: ``end`` moves to it, ``frames`` grows, and the frame
  with the highest change is its ``best``; among frames of equal change, the one where the most
  moved (``ChangeMeter.moved``): ``change`` saturates at 100 for someone near the camera, and
  the first frame at 100 shows them half out of the picture, the fullest one all of them.
* It ends at the first frame that comes more than ``gap`` seconds after its last firing frame,
  whether that frame fires or not (if it does, it starts the next event, cooldown permitting),
  or when :meth:`EventGrouper.close` is called.
* Notices: START when it starts, UPDATE at most every ``_UPDATE_EVERY`` seconds while frames
  join it, END once (see ``_event``).
* Frames to keep follow the :class:`ArchivePolicy`: the first frame at once, the ones the rate
  allows as they come, and the best frame just before END if none of those was it.
"""

from __future__ import annotations

from dataclasses import dataclass

from yardcam.camera import Frame

from ._event import Event, EventPhase
from ._policy import ArchivePolicy

_UPDATE_EVERY = 1.0  # seconds: often enough for a live view, rare enough for a busy yard


@dataclass(frozen=True, slots=True)
class Keep:
    """A frame the policy picked, with its change and its event's id."""

    frame: Frame
    change: float
    event: str


@dataclass(slots=True)
class _Running:
    """The open event's state; published as :class:`Event` snapshots."""

    id: str
    start: float
    end: float
    frames: int
    archived: int
    peak_change: float
    best: Frame
    best_moved: int
    best_kept: bool
    last_kept: float
    last_notice: float

    def snapshot(self, phase: EventPhase) -> Event:
        return Event(
            id=self.id,
            phase=phase,
            start=self.start,
            end=self.end,
            frames=self.frames,
            archived=self.archived,
            peak_change=self.peak_change,
            best=self.best,
        )


class EventGrouper:
    """Groups firing frames into events (the rules are in the module doc)."""

    def __init__(
        self, *, gap: float = 3.0, cooldown: float = 0.0, policy: ArchivePolicy | None = None
    ) -> None:
        if not gap >= 0:
            raise ValueError(f"gap must be >= 0 seconds, not {gap!r}")
        if not cooldown >= 0:
            raise ValueError(f"cooldown must be >= 0 seconds, not {cooldown!r}")
        self.gap, self.cooldown = gap, cooldown
        self.policy = policy or ArchivePolicy()
        self._running: _Running | None = None
        self._quiet_until = float("-inf")
        self.joined = False  # whether the latest frame started or joined an event

    @property
    def running(self) -> bool:
        return self._running is not None

    @property
    def current(self) -> Event | None:
        """The open event as of its latest frame (phase UPDATE), or None."""
        run = self._running
        return None if run is None else run.snapshot(EventPhase.UPDATE)

    def step(self, frame: Frame, change: float, fires: bool, moved: int = 0) -> list[Event | Keep]:
        """Account for one measured frame (``moved``: ``ChangeMeter.moved``); what to publish,
        in order."""
        out: list[Event | Keep] = []
        run, ts = self._running, frame.ts
        self.joined = False
        if run is not None and ts - run.end > self.gap:
            out += self.close(ts)
            run = None
        if not fires:
            return out
        if run is None:
            if ts < self._quiet_until:
                return out
            event_id = f"{round(ts * 1000)}-{frame.seq}"
            run = _Running(event_id, ts, ts, 1, 1, change, frame, moved, True, ts, ts)
            self._running, self.joined = run, True
            out.append(run.snapshot(EventPhase.START))
            out.append(Keep(frame, change, event_id))
            return out
        self.joined = True
        run.frames += 1
        run.end = max(run.end, ts)
        if (change, moved) > (run.peak_change, run.best_moved):
            run.peak_change, run.best, run.best_moved, run.best_kept = change, frame, moved, False
        if self.policy.every_frame or ts - run.last_kept >= self.policy.interval:
            run.archived += 1
            run.last_kept = ts
            run.best_kept = run.best_kept or run.best is frame
            out.append(Keep(frame, change, run.id))
        if ts - run.last_notice >= _UPDATE_EVERY:
            run.last_notice = ts
            out.append(run.snapshot(EventPhase.UPDATE))
        return out

    def close(self, now: float) -> list[Event | Keep]:
        """End the open event (if any) at capture time ``now``: its best frame, then END."""
        run = self._running
        if run is None:
            return []
        self._running = None
        self._quiet_until = now + self.cooldown
        out: list[Event | Keep] = []
        if not run.best_kept:
            run.archived += 1
            out.append(Keep(run.best, run.peak_change, run.id))
        out.append(run.snapshot(EventPhase.END))
        return out
