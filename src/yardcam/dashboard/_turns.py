"""Turns: streams that wake together write one per loop iteration, not all in one.

A new frame wakes every MJPEG viewer at once, a motion event every SSE client, and clients that
connected together (every dashboard reconnects within seconds of a restart) tick together. Each
such wake-up is one callback on the loop, and asyncio runs every callback that is ready in the
same iteration before it polls again: 20 viewers each TLS-encrypting and sending a 720p frame
(~0.3-0.5 ms of the loop thread apiece) held the detector, the other clients and every request
for 4-7 ms (benchmarks/viewers.py, which measures the loop's CPU per iteration). A stream that
takes a turn before it writes is let go in an iteration of its own, in the order it asked, so
whatever else is ready runs between two writes; the cost is one more loop iteration per write
(a poll that finds nothing, microseconds). Every stream of a loop shares its turns
(:func:`take_turn`): the loop is what they share.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque


class Turns:
    """Lets waiters go one per loop iteration, first come first served.

    >>> async def demo() -> list[str]:
    ...     turns, order = Turns(), []
    ...     async def stream(name: str) -> None:
    ...         await turns.take()
    ...         order.append(name)
    ...     await asyncio.gather(stream("a"), stream("b"), stream("c"))
    ...     return order
    >>> asyncio.run(demo())
    ['a', 'b', 'c']
    """

    def __init__(self) -> None:
        self._waiting: deque[asyncio.Future[None]] = deque()

    async def take(self) -> None:
        """Return in a loop iteration of this caller's own: the first waiter in the next one,
        the others one iteration after another."""
        loop = asyncio.get_running_loop()
        if not self._waiting:
            loop.call_soon(self._next)
        waiter = loop.create_future()
        self._waiting.append(waiter)
        await waiter

    def _next(self) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():  # done: cancelled, its stream has ended
                waiter.set_result(None)
                break
        if self._waiting:
            asyncio.get_running_loop().call_soon(self._next)


_BY_LOOP: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Turns] = weakref.WeakKeyDictionary()


async def take_turn() -> None:
    """Wait for the caller's turn among every stream of the running loop (see the module doc);
    take it right before writing, with nothing awaited in between."""
    loop = asyncio.get_running_loop()
    turns = _BY_LOOP.get(loop)
    if turns is None:
        turns = _BY_LOOP[loop] = Turns()
    await turns.take()
