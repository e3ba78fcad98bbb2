"""Server-Sent Events for the dashboard: motion the instant it fires, counters every second.

The detector calls :meth:`Broadcaster.publish` on the loop for every trigger; the payload is
built once and handed to each connected dashboard through its own small queue. A dashboard that
stops reading loses its oldest undelivered events, never slows the detector or other viewers.
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
        self._queues: set[asyncio.Queue[dict[str, Any]]] = set()

    def __len__(self) -> int:
        return len(self._queues)

    def on_motion(self, event: MotionEvent) -> None:
        """A :meth:`MotionDetector.subscribe` callback; never blocks."""
        self.publish(
            {"ts": event.ts, "count": event.count, "change": event.change, "seq": event.frame.seq}
        )

    def publish(self, payload: dict[str, Any]) -> None:
        for queue in self._queues:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(payload)

    @contextlib.contextmanager
    def listen(self) -> Iterator[asyncio.Queue[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(_QUEUE_SIZE)
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)


def sse(event: str, data: dict[str, Any]) -> bytes:
    """One SSE message; ``default=str`` so odd values in stats (enums, errors) never break it."""
    return f"event: {event}\ndata: {json.dumps(data, default=str)}\n\n".encode()


async def event_stream(
    broadcaster: Broadcaster, state: Callable[[], dict[str, Any]], interval: float
) -> AsyncIterator[bytes]:
    """A dashboard's stream: state now, then motion as it happens and state every ``interval``.

    Ends when the client disconnects (Starlette cancels the response and this generator with it).
    """
    loop = asyncio.get_running_loop()
    with broadcaster.listen() as queue:
        yield b"retry: 2000\n\n" + sse("state", state())
        due = loop.time() + interval
        while True:
            try:
                payload = await asyncio.wait_for(queue.get(), max(due - loop.time(), 0))
            except TimeoutError:
                yield sse("state", state())
                due = loop.time() + interval
            else:
                yield sse("motion", payload)
