import asyncio
from collections.abc import AsyncIterator

from camera_helpers import stop

from yardcam.camera import Frame, FrameHub, SourceError
from yardcam.requests import Backoff


def frame(seq: int) -> Frame:
    return Frame(b"\xff\xd8jpeg", ts=float(seq), seq=seq, width=4, height=4)


async def test_next_frame_waits_for_a_newer_one() -> None:
    hub = FrameHub()
    waiter = asyncio.create_task(hub.next_frame())
    await asyncio.sleep(0)
    assert not waiter.done()
    hub.publish(frame(0))
    assert (await waiter).seq == 0
    assert await hub.next_frame(None) is hub.latest
    later = asyncio.create_task(hub.next_frame(after_seq=0))
    await asyncio.sleep(0)
    assert not later.done()
    hub.publish(frame(1))
    hub.publish(frame(2))
    assert (await later).seq == 2  # the newest, not a queue


async def test_slow_consumer_skips_and_never_delays_a_fast_one() -> None:
    hub = FrameHub()
    release_slow = asyncio.Event()
    fast_seen: list[int] = []
    slow_seen: list[int] = []

    async def fast() -> None:
        seq = None
        while seq != 49:
            got = await hub.next_frame(seq)
            fast_seen.append(got.seq)
            seq = got.seq

    async def slow() -> None:
        first = await hub.next_frame()
        slow_seen.append(first.seq)
        await release_slow.wait()  # stuck, e.g. a viewer on a bad link
        slow_seen.append((await hub.next_frame(first.seq)).seq)

    tasks = [asyncio.create_task(fast()), asyncio.create_task(slow())]
    published = []
    for seq in range(50):
        f = frame(seq)
        published.append(f)
        hub.publish(f)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
    await tasks[0]
    assert fast_seen == list(range(50))  # the fast consumer saw every frame while slow was stuck
    assert hub.latest is published[-1]  # shared object: no per-consumer copy
    release_slow.set()
    await tasks[1]
    assert slow_seen == [0, 49]  # the slow one just jumps to the newest frame


async def test_restarted_source_never_moves_seq_backwards() -> None:
    hub = FrameHub()
    hub.publish(frame(10))
    hub.publish(frame(0))
    assert hub.latest is not None and hub.latest.seq == 11
    assert hub.latest.jpeg == b"\xff\xd8jpeg"


class Flaky:
    """Fails its first runs the way a camera does, then streams three frames and ends."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.runs = 0

    async def frames(self) -> AsyncIterator[Frame]:
        self.runs += 1
        if self.runs <= self.failures:
            yield frame(0)
            raise SourceError("camera unplugged")
        for seq in range(3):
            yield frame(seq)


async def test_run_retries_with_backoff_reports_state_and_ends_with_the_source() -> None:
    hub = FrameHub(backoff=Backoff(base=0.001, cap=0.002))
    source = Flaky(failures=3)
    states: list[str] = []
    task = asyncio.create_task(hub.run(source))
    while not task.done():
        if not states or states[-1] != hub.state:
            states.append(hub.state)
        await asyncio.sleep(0)
    await task
    assert source.runs == 4
    assert hub.failures == 3
    assert "retrying: camera unplugged" in states
    assert hub.state == "ended"
    assert hub.latest is not None and hub.latest.seq == 5  # 0, renumbered 1, 2, 3 then 4, 5


async def test_restart_waits_grow_while_failing_and_reset_once_streaming(caplog) -> None:
    def waits() -> list[float]:
        found = [r.args[2] for r in caplog.records if "frame source failed" in r.msg]
        caplog.clear()
        return found  # type: ignore[return-value]

    backoff = Backoff(base=0.001, cap=0.004)
    hub = FrameHub(backoff=backoff)
    task = asyncio.create_task(hub.run(Broken()))  # never streams: the waits grow to the cap
    while hub.failures < 5:
        await asyncio.sleep(0)
    await stop(task)
    growing = waits()
    assert len(growing) >= 5
    for n, wait in enumerate(growing, start=1):
        assert backoff.ceiling(n) / 2 <= wait <= backoff.ceiling(n)
    # A source that streams before each failure starts again from the shortest wait.
    await FrameHub(backoff=backoff).run(Flaky(failures=3))
    reset = waits()
    assert len(reset) == 3 and all(wait <= backoff.ceiling(1) for wait in reset)


class Broken:
    async def frames(self) -> AsyncIterator[Frame]:
        raise RuntimeError("driver bug")
        yield frame(0)  # pragma: no cover - makes this an async generator


async def test_a_crashing_source_is_a_state_not_a_crash(caplog) -> None:
    hub = FrameHub(backoff=Backoff(base=0.001, cap=0.001))
    task = asyncio.create_task(hub.run(Broken()))
    while hub.failures < 2:
        await asyncio.sleep(0)
    assert hub.state == "retrying: driver bug"
    assert not task.done()
    await stop(task)
    assert "frame source crashed" in caplog.text


async def test_the_log_names_the_camera_whose_source_failed(caplog) -> None:
    # With two cameras, "frame source failed" alone does not say which one to go and look at.
    hubs = [
        FrameHub(name=name, backoff=Backoff(base=0.001, cap=0.001)) for name in ("front", "back")
    ]
    tasks = [
        asyncio.create_task(hubs[0].run(Flaky(failures=1))),
        asyncio.create_task(hubs[1].run(Broken())),
    ]
    while hubs[1].failures < 1:
        await asyncio.sleep(0)
    await tasks[0]
    await stop(tasks[1])
    failed = [r.getMessage() for r in caplog.records if "frame source" in r.msg]
    assert "camera front: frame source failed (camera unplugged); retrying in 0.0 s" in failed
    assert any(m.startswith("camera back: frame source crashed") for m in failed)
