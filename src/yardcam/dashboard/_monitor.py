"""What the dashboard must tell truthfully about each camera, watched a few times a second.

The hub knows its source's state (``streaming``, ``retrying: <reason>``...), but not since
when, and a source can hang without failing. The monitor turns that into ``online`` (a new
frame within ``stale_after`` seconds) with the time it last changed, pushes ``source`` and
``archive`` events when either changes, and keeps the last minute of ``change`` values for the
dashboard's plot and the detector's frame rate for ``/status`` and ``/metrics``.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

from ._events import Broadcaster
from ._settings import CameraFeed

WATCH_INTERVAL = 0.25
HISTORY_SECONDS = 60.0


class FeedWatch:
    def __init__(self, feed: CameraFeed, stale_after: float = 5.0) -> None:
        self.feed = feed
        self.stale_after = stale_after
        now = time.time()
        self.online = False
        self.since = now  # when ``online`` last flipped (or the app started)
        self.state = feed.hub.state
        self.archive_state: object = None
        self.fps = 0.0
        self.changes: deque[tuple[float, float]] = deque(
            maxlen=int(HISTORY_SECONDS / WATCH_INTERVAL)
        )
        self._seq: int | None = None
        self._frame_seen = 0.0
        self._rate_from: tuple[float, int] = (time.monotonic(), feed.detector.frame_count)

    def source(self) -> dict[str, Any]:
        hub = self.feed.hub
        latest = hub.latest
        return {
            "state": hub.state,
            "online": self.online,
            "since": self.since,
            "failures": hub.failures,
            "retrying": hub.state.startswith("retrying"),
            "last_frame_at": self._frame_seen or None,
            "seq": latest.seq if latest else None,
            "ts": latest.ts if latest else None,
            "width": latest.width if latest else None,
            "height": latest.height if latest else None,
        }

    def poll(self, broadcaster: Broadcaster) -> None:
        hub, detector, name = self.feed.hub, self.feed.detector, self.feed.name
        now, mono = time.time(), time.monotonic()
        latest = hub.latest
        if latest is not None and latest.seq != self._seq:
            self._seq, self._frame_seen = latest.seq, now
        online = (
            hub.state == "streaming"
            and bool(self._frame_seen)
            and now - self._frame_seen < self.stale_after
        )
        if online != self.online or hub.state != self.state:
            if online != self.online:
                self.since = now
            self.online, self.state = online, hub.state
            broadcaster.publish("source", {"camera": name, **self.source()}, name)
        if self.feed.archive_stats is not None:
            stats = self.feed.archive_stats()
            if stats.get("state") != self.archive_state:
                self.archive_state = stats.get("state")
                broadcaster.publish("archive", {"camera": name, **stats}, name)
        self.changes.append((now, round(detector.last_change, 2)))
        started, frames = self._rate_from
        if mono - started >= 2.0:
            self.fps = round((detector.frame_count - frames) / (mono - started), 2)
            self._rate_from = (mono, detector.frame_count)


async def watch(watches: list[FeedWatch], broadcaster: Broadcaster) -> None:
    while True:
        for w in watches:
            w.poll(broadcaster)
        await asyncio.sleep(WATCH_INTERVAL)
