"""Pace a producer at a target frame rate without drifting and without bursts after a stall."""

from __future__ import annotations

import asyncio


class Pacer:
    """Sleeps until the next tick of a fixed schedule; ``fps=None`` only yields to the loop.

    If the producer falls behind by more than one period (a slow render, a paused laptop), the
    schedule restarts from now instead of emitting a burst of frames to catch up: a camera never
    delivers frames from the past.
    """

    def __init__(self, fps: float | None) -> None:
        if fps is not None and not fps > 0:
            raise ValueError(f"fps must be positive or None, not {fps!r}")
        self._period = None if fps is None else 1.0 / fps
        self._next: float | None = None

    async def wait(self) -> None:
        if self._period is None:
            await asyncio.sleep(0)  # unpaced, yet still let the loop's other tasks run
            return
        now = asyncio.get_running_loop().time()
        if self._next is None or now - self._next > self._period:
            self._next = now
        elif self._next > now:
            await asyncio.sleep(self._next - now)
        self._next += self._period
