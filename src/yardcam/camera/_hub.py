"""The frame hub: the newest frame, and a wake-up for everyone waiting on the next one.

Consumers (the detector, live-preview viewers, snapshots) share one ``Frame`` object: nothing is
copied per consumer, and nothing is queued. A slow consumer simply gets the newest frame when it
asks again and never holds anybody else back; the hub never waits on a consumer.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging

from yardcam.requests import Backoff

from ._frame import Frame, FrameSource

log = logging.getLogger(__name__)


class FrameHub:
    """Latest frame + "new frame" notification, and the pump that keeps a source running.

    ``state`` is ``"starting"``, ``"streaming"``, ``"retrying: <reason>"`` or ``"ended"``;
    ``failures`` counts the source's failed runs. A failed source is restarted after
    ``backoff`` (0.5 s doubling to 30 s, jittered, by default), counted from the last time it
    streamed. ``name`` is the camera's, so that with several cameras the log says which failed.

    >>> hub = FrameHub()
    >>> hub.publish(Frame(b"jpeg", ts=0.0, seq=7, width=1, height=1))
    >>> hub.latest.seq
    7
    """

    def __init__(self, *, name: str = "camera", backoff: Backoff | None = None) -> None:
        self.name = name
        self.latest: Frame | None = None
        self.state: str = "starting"
        self.failures: int = 0
        self._backoff = backoff or Backoff(base=0.5, cap=30.0)
        # One Event per generation of "latest": publish() sets the current one and swaps in a fresh
        # one, so a waiter can never miss a frame published between its check and its wait.
        self._published = asyncio.Event()

    def publish(self, frame: Frame) -> None:
        """Make ``frame`` the latest and wake every waiter; never blocks.

        Sequence numbers seen by consumers only ever increase: a frame whose ``seq`` is not above
        the latest one (a restarted source counts from 0 again) is renumbered to follow it, so a
        consumer waiting for ``seq > n`` is never stranded by a reconnect.
        """
        latest = self.latest
        if latest is not None and frame.seq <= latest.seq:
            frame = dataclasses.replace(frame, seq=latest.seq + 1)
        self.latest = frame
        published, self._published = self._published, asyncio.Event()
        published.set()

    async def next_frame(self, after_seq: int | None = None) -> Frame:
        """The newest frame with ``seq > after_seq`` (any frame if ``None``), waiting if need be."""
        while True:
            latest = self.latest
            if latest is not None and (after_seq is None or latest.seq > after_seq):
                return latest
            await self._published.wait()

    async def run(self, source: FrameSource) -> None:
        """Pump ``source`` into the hub, restarting it with exponential backoff when it fails.

        Returns only when a finite source (a folder without ``loop``, a video file) ends; a
        failing source shows up as ``state == "retrying: <reason>"`` and never raises.
        """
        in_a_row = 0  # failures since the source last streamed
        while True:
            self.state = "starting"
            try:
                async for frame in source.frames():
                    self.publish(frame)
                    self.state = "streaming"
                    in_a_row = 0
            # The source is the boundary to camera drivers and networks, which raise anything;
            # whatever it is, the product keeps running and says what is wrong.
            except Exception as exc:
                reason = str(exc) or type(exc).__name__
                if not isinstance(exc, OSError):
                    log.exception("camera %s: frame source crashed; retrying", self.name)
            else:
                self.state = "ended"
                return
            self.failures += 1
            in_a_row += 1
            delay = self._backoff.delay(in_a_row)
            self.state = f"retrying: {reason}"
            log.warning(
                "camera %s: frame source failed (%s); retrying in %.1f s", self.name, reason, delay
            )
            await asyncio.sleep(delay)
