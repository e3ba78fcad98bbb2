"""Server-Sent Events: motion the instant it fires, state every second, and nothing missed.

Every broadcast (``motion``, ``state`` changes, ``source`` and ``archive`` transitions) gets the
next id and is kept in a bounded ring. A client that reconnects sends ``Last-Event-ID``; what it
missed is replayed from the ring first (when the ring no longer reaches back that far, a fresh
``state`` tells it to reload what it shows). Periodic ``state`` ticks carry the id of the latest
broadcast, so a reconnect never replays what the client already had. A comment line every
``keepalive`` seconds keeps proxies and NATs from closing a quiet stream.

The detector calls :meth:`Broadcaster.on_motion` on the loop for every trigger; the message is
encoded once and handed to each connected client through its own small queue. A client that
stops reading loses its oldest undelivered events, never slows the detector or other clients.
Clients take turns (``_turns``) with every stream of the loop: a broadcast wakes them all at
once, and clients that connected together tick together; each writes in a loop iteration of
its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ..motion import Event, MotionEvent
from ._turns import take_turn

_QUEUE_SIZE = 64
RING_SIZE = 1024
RECENT_EVENTS = 20  # per camera, for a freshly opened dashboard and the thumbnails it shows


@dataclass(frozen=True, slots=True)
class _Message:
    id: int
    camera: str | None  # None: for every camera's listeners
    data: bytes


class Broadcaster:
    def __init__(self, ring_size: int = RING_SIZE) -> None:
        self._queues: set[asyncio.Queue[_Message]] = set()
        self._ring: deque[_Message] = deque(maxlen=ring_size)
        self.last_id = 0
        self.last_motion: dict[str, MotionEvent] = {}  # per camera: the frame /motion.jpg shows
        self.recent: dict[str, OrderedDict[str, Event]] = {}  # per camera, oldest first

    def __len__(self) -> int:
        return len(self._queues)

    def motion_callback(self, camera: str) -> Callable[[MotionEvent], None]:
        """A :meth:`MotionDetector.subscribe` callback for ``camera``; never blocks."""

        def on_motion(event: MotionEvent) -> None:
            self.last_motion[camera] = event
            payload = {"ts": event.ts, "count": event.count, "change": round(event.change, 2)}
            self.publish("motion", {**payload, "camera": camera, "seq": event.frame.seq}, camera)

        return on_motion

    def event_callback(self, camera: str) -> Callable[[Event], None]:
        """A :meth:`MotionDetector.subscribe_events` callback: each notice of a motion event
        (start, updates, end) goes out as an ``event`` message and is kept among the recent."""
        recent = self.recent.setdefault(camera, OrderedDict())

        def on_event(event: Event) -> None:
            recent[event.id] = event
            recent.move_to_end(event.id)
            while len(recent) > RECENT_EVENTS:
                recent.popitem(last=False)
            self.publish("event", {"camera": camera, **event.to_dict()}, camera)

        return on_event

    def recent_events(self, camera: str) -> list[dict[str, Any]]:
        """The camera's recent motion events as JSON, newest first."""
        events = self.recent.get(camera)
        if events is None:
            return []
        return [{"camera": camera, **e.to_dict()} for e in reversed(events.values())]

    def publish(self, event: str, data: dict[str, Any], camera: str | None = None) -> int:
        """Send to every connected client and keep for replay; returns the event's id."""
        self.last_id += 1
        message = _Message(self.last_id, camera, sse(event, data, self.last_id))
        self._ring.append(message)
        for queue in self._queues:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(message)
        return self.last_id

    def since(self, last_id: int) -> list[_Message] | None:
        """Messages after ``last_id``, or None when the ring no longer reaches back that far."""
        if last_id >= self.last_id:
            return []
        if not self._ring or self._ring[0].id > last_id + 1:
            return None
        return [m for m in self._ring if m.id > last_id]

    @contextlib.contextmanager
    def listen(self) -> Iterator[asyncio.Queue[_Message]]:
        queue: asyncio.Queue[_Message] = asyncio.Queue(_QUEUE_SIZE)
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)


def sse(event: str, data: dict[str, Any], event_id: int) -> bytes:
    """One SSE message; ``default=str`` so odd values in stats (enums, errors) never break it."""
    return f"id: {event_id}\nevent: {event}\ndata: {json.dumps(data, default=str)}\n\n".encode()


def last_event_id(header: str | None) -> int | None:
    try:
        return int(header) if header else None
    except ValueError:
        return None


async def event_stream(
    broadcaster: Broadcaster,
    state: Callable[[], dict[str, Any]],
    *,
    camera: str | None,
    interval: float,
    keepalive: float,
    allowed: Callable[[], Awaitable[bool]],
    resume_after: int | None = None,
) -> AsyncIterator[bytes]:
    """A client's stream: replay since ``resume_after`` (or state now), then broadcasts as they
    happen, state every ``interval`` and a keepalive comment every ``keepalive`` seconds.

    ``camera``: only that camera's events (None: all). Ends when the client disconnects
    (Starlette then cancels this generator), or at the first tick where ``allowed()`` is false:
    a logout, password change or revoked token must not leave an open stream watching.
    """
    loop = asyncio.get_running_loop()
    with broadcaster.listen() as queue:
        yield b"retry: 2000\n\n"
        sent = broadcaster.last_id
        missed = broadcaster.since(resume_after) if resume_after is not None else None
        for message in missed or ():
            if camera is None or message.camera in (None, camera):
                yield message.data
        if missed is None:
            yield sse("state", state(), sent)
        now = loop.time()
        tick, ping = now + interval, now + keepalive
        while True:
            try:
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
                # that races its timeout, and the stream would outlive its client.
                async with asyncio.timeout_at(min(tick, ping)):
                    message = await queue.get()
            except TimeoutError:
                now = loop.time()
                if now >= tick and not await allowed():
                    return
                await take_turn()  # last: nothing may suspend before the writes
                if now >= ping:
                    yield b": keepalive\n\n"
                    ping = now + keepalive
                if now >= tick:
                    yield sse("state", state(), max(sent, broadcaster.last_id))
                    tick = now + interval
            else:
                if message.id <= sent:
                    continue  # already replayed from the ring
                if camera is None or message.camera in (None, camera):
                    await take_turn()
                    yield message.data
