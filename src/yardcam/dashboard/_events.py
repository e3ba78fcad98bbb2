"""Server-Sent Events for the dashboard: motion the instant it fires, counters every second.

The detector calls :meth:`Broadcaster.on_motion` on the loop for every trigger; the message is
encoded once and handed to each connected dashboard through its own small queue. A dashboard
that stops reading loses its oldest undelivered events, never slows the detector or other viewers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from ..motion import MotionEvent

_QUEUE_SIZE = 32


class Broadcaster:
    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[bytes]] = set()
        self.last_event: MotionEvent | None = None  # its frame is what the dashboard shows

    def __len__(self) -> int:
        return len(self._queues)

    def on_motion(self, event: MotionEvent) -> None:
        """A :meth:`MotionDetector.subscribe` callback; never blocks."""
        self.last_event = event
        payload = {"ts": event.ts, "count": event.count, "change": event.change}
        self.publish("motion", {**payload, "seq": event.frame.seq})

    def publish(self, event: str, data: dict[str, Any]) -> None:
        """Send to every connected dashboard (e.g. a state change made by one of them)."""
        message = sse(event, data)
        for queue in self._queues:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(message)

    @contextlib.contextmanager
    def listen(self) -> Iterator[asyncio.Queue[bytes]]:
        queue: asyncio.Queue[bytes] = asyncio.Queue(_QUEUE_SIZE)
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)


def sse(event: str, data: dict[str, Any]) -> bytes:
    """One SSE message; ``default=str`` so odd values in stats (enums, errors) never break it."""
    return f"event: {event}\ndata: {json.dumps(data, default=str)}\n\n".encode()


async def event_stream(
    broadcaster: Broadcaster,
    state: Callable[[], dict[str, Any]],
    interval: float,
    allowed: Callable[[], bool],
) -> AsyncIterator[bytes]:
    """A dashboard's stream: state now, then broadcasts as they happen and state every ``interval``.

    Ends when the client disconnects (Starlette cancels the response and this generator with it),
    or at the first tick where ``allowed()`` is false: a password change or removed user must not
    leave an already open dashboard watching.
    """
    loop = asyncio.get_running_loop()
    with broadcaster.listen() as queue:
        yield b"retry: 2000\n\n" + sse("state", state())
        due = loop.time() + interval
        while True:
            try:
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
                # that races its timeout, and the stream would outlive its client.
                async with asyncio.timeout_at(due):
                    message = await queue.get()
            except TimeoutError:
                if not allowed():
                    return
                yield sse("state", state())
                due = loop.time() + interval
            else:
                yield message
