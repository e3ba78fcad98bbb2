"""Turns: streams woken together write in loop iterations of their own, in the order they asked."""

from __future__ import annotations

import asyncio
import contextlib
import doctest
import itertools

from yardcam.camera import Frame, FrameHub
from yardcam.dashboard import _turns
from yardcam.dashboard._events import Broadcaster, event_stream
from yardcam.dashboard._preview import Viewers, mjpeg_stream
from yardcam.dashboard._turns import Turns


async def always() -> bool:
    return True


def test_doctests() -> None:
    assert doctest.testmod(_turns).failed == 0


class Iterations:
    """Counts the loop's iterations: a callback that schedules itself runs once in each."""

    def __init__(self) -> None:
        self.count = 0
        self._handle = asyncio.get_running_loop().call_soon(self._tick)

    def _tick(self) -> None:
        self.count += 1
        self._handle = asyncio.get_running_loop().call_soon(self._tick)

    def stop(self) -> None:
        self._handle.cancel()


async def test_waiters_go_one_per_loop_iteration_in_order() -> None:
    turns, iterations, went = Turns(), Iterations(), []

    async def stream(name: str) -> None:
        await turns.take()
        went.append((name, iterations.count))

    await asyncio.gather(*(stream(name) for name in "abcde"))
    iterations.stop()
    assert [name for name, _ in went] == list("abcde")
    seen = [n for _, n in went]
    assert all(later > earlier for earlier, later in itertools.pairwise(seen))


async def test_a_waiter_that_left_does_not_hold_up_the_others() -> None:
    turns, went = Turns(), []

    async def stream(name: str) -> None:
        await turns.take()
        went.append(name)

    first, leaving, last = (asyncio.create_task(stream(name)) for name in "abc")
    await asyncio.sleep(0)  # all three are waiting now
    leaving.cancel()
    await asyncio.gather(first, last)
    with contextlib.suppress(asyncio.CancelledError):
        await leaving
    assert went == ["a", "c"]
    await asyncio.wait_for(stream("d"), timeout=5)  # nothing left stuck: a new turn comes
    assert went == ["a", "c", "d"]


async def test_viewers_woken_by_one_frame_write_in_different_iterations() -> None:
    hub, viewers, iterations = FrameHub(), Viewers(), Iterations()
    streams = [mjpeg_stream(hub, viewers, allowed=always) for _ in range(3)]
    heads = [asyncio.ensure_future(anext(stream)) for stream in streams]
    await asyncio.sleep(0)
    written = []
    for head in heads:
        head.add_done_callback(lambda _: written.append(iterations.count))
    hub.publish(Frame(b"\xff\xd8one\xff\xd9", ts=0.0, seq=1, width=1, height=1))
    await asyncio.gather(*heads)
    iterations.stop()
    assert len(set(written)) == 3  # no two in one iteration
    for stream in streams:
        await stream.aclose()
    assert viewers.count == 0


async def test_sse_clients_woken_by_one_broadcast_write_in_different_iterations() -> None:
    broadcaster, iterations = Broadcaster(), Iterations()
    streams = [
        event_stream(
            broadcaster,
            lambda: {"frames": 0},
            camera=None,
            interval=3600,
            keepalive=3600,
            allowed=always,
        )
        for _ in range(3)
    ]
    for stream in streams:  # the retry line and the state on connect
        assert await anext(stream) == b"retry: 2000\n\n"
        assert b"event: state" in await anext(stream)
    nexts = [asyncio.ensure_future(anext(stream)) for stream in streams]
    await asyncio.sleep(0)
    written = []
    for future in nexts:
        future.add_done_callback(lambda _: written.append(iterations.count))
    broadcaster.publish("motion", {"count": 1})
    messages = await asyncio.gather(*nexts)
    iterations.stop()
    assert all(b"event: motion" in message for message in messages)
    assert len(set(written)) == 3  # no two in one iteration
    for stream in streams:
        await stream.aclose()
    assert len(broadcaster) == 0


async def test_viewers_and_sse_clients_share_the_loops_turns() -> None:
    hub, broadcaster, iterations = FrameHub(), Broadcaster(), Iterations()
    viewer = mjpeg_stream(hub, Viewers(), allowed=always)
    client = event_stream(
        broadcaster, dict, camera=None, interval=3600, keepalive=3600, allowed=always
    )
    await anext(client)  # the retry line
    await anext(client)  # the state on connect
    nexts = [asyncio.ensure_future(anext(stream)) for stream in (viewer, client)]
    await asyncio.sleep(0)
    written = []
    for future in nexts:
        future.add_done_callback(lambda _: written.append(iterations.count))
    hub.publish(Frame(b"\xff\xd8one\xff\xd9", ts=0.0, seq=1, width=1, height=1))
    broadcaster.publish("motion", {"count": 1})
    await asyncio.gather(*nexts)
    iterations.stop()
    assert len(set(written)) == 2  # one write per iteration, whichever kind
    await viewer.aclose()
    await client.aclose()
