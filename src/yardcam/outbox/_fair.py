"""The uploader's ready queue, taken round-robin by camera.

Several cameras share one outbox and one set of upload workers. A plain FIFO would let a camera
in a long burst of motion (dozens of frames a second) delay a quiet camera's one frame behind
its whole burst; taking one entry per camera in turn keeps every camera's latency bounded by the
number of cameras, not by the busiest one's backlog.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable


class FairQueue:
    """An asyncio queue of ``str`` items grouped by ``key(item)``, served one group at a time.

    >>> q = FairQueue(key=lambda item: item[0])
    >>> for item in ["a1", "a2", "a3", "b1"]:
    ...     q.put_nowait(item)
    >>> [q.get_nowait() for _ in range(4)]
    ['a1', 'b1', 'a2', 'a3']
    """

    def __init__(self, *, key: Callable[[str], str]) -> None:
        self._key = key
        self._groups: dict[str, deque[str]] = {}
        self._turns: deque[str] = deque()  # groups with items, in serving order
        self._size = 0
        self._nonempty = asyncio.Event()

    def qsize(self) -> int:
        return self._size

    def put_nowait(self, item: str) -> None:
        key = self._key(item)
        group = self._groups.setdefault(key, deque())
        if not group:
            self._turns.append(key)
        group.append(item)
        self._size += 1
        self._nonempty.set()

    def get_nowait(self) -> str:
        if not self._size:
            raise asyncio.QueueEmpty
        key = self._turns.popleft()
        group = self._groups[key]
        item = group.popleft()
        if group:
            self._turns.append(key)
        else:
            del self._groups[key]
        self._size -= 1
        if not self._size:
            self._nonempty.clear()
        return item

    async def get(self) -> str:
        while not self._size:
            await self._nonempty.wait()
        return self.get_nowait()
