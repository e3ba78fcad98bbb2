import asyncio
import contextlib

import pytest

from yardcam.camera import Frame, FrameHub, SyntheticScene, SyntheticSource
from yardcam.motion import ArchivePolicy, MotionDetector, MotionEvent


def frame(seq: int, ts: float | None = None) -> Frame:
    return Frame(b"\xff\xd8", ts=seq / 10 if ts is None else ts, seq=seq, width=8, height=8)


@pytest.mark.parametrize("value", [-0.1, 100.5, float("nan")])
def test_threshold_must_be_a_percentage(value: float) -> None:
    with pytest.raises(ValueError, match=r"0\.\.100"):
        MotionDetector(threshold=value)
    detector = MotionDetector()
    with pytest.raises(ValueError, match=r"0\.\.100"):
        detector.threshold = value
    assert detector.threshold == 12.0


def test_min_frames_holds_back_the_start_but_not_frames_inside_an_event() -> None:
    detector = MotionDetector(min_frames=2, policy=ArchivePolicy(every_frame=True))
    changes = [50, 3, 50, 50, 3, 50, 50]
    fired = [detector.decide(frame(i), c) is not None for i, c in enumerate(changes)]
    # seq 3 is the first second frame in a row; inside the event one frame above is enough.
    assert [i for i, f in enumerate(fired) if f] == [3, 5, 6]
    assert detector.frame_count == 7 and detector.trigger_count == 3
    assert detector.event_count == 1
    assert detector.last_motion == {"ts": 0.6, "count": 3, "change": 50, "event": "300-3"}
    assert detector.last_change == 50


async def test_subscribers_get_the_untouched_frame_and_one_bad_subscriber_harms_none(
    caplog,
) -> None:
    detector = MotionDetector(min_frames=1)
    got: list[MotionEvent] = []

    def broken(event: MotionEvent) -> None:
        raise RuntimeError("subscriber bug")

    detector.subscribe(broken)
    detector.subscribe(got.append)
    waiter = asyncio.create_task(detector.wait_motion())
    await asyncio.sleep(0)
    f = frame(7)
    event = detector.decide(f, 40.0)
    assert got == [event] and event is not None
    assert event.frame is f and event.change == 40.0 and event.count == 1 and event.ts == f.ts
    assert event.event == "700-7"
    assert await waiter is event
    assert "subscriber bug" in caplog.text


async def test_threshold_changes_while_running_and_bad_frames_are_skipped() -> None:
    scene = SyntheticScene(seed=0, width=640, height=360)
    hub = FrameHub()
    detector = MotionDetector(gap=0.0)  # frames come as fast as they render: no gap in time
    hub.publish(Frame(b"not a jpeg", 0.0, -1, 640, 360))  # a corrupt frame first
    tasks = [
        asyncio.create_task(detector.run(hub)),
        asyncio.create_task(hub.run(SyntheticSource(scene, fps=None))),
    ]
    first = await detector.wait_motion()  # default threshold: the first crossing fires
    assert first.change > 12.0
    detector.threshold = 100.0  # nothing can exceed 100 %
    events, frames = detector.event_count, detector.frame_count
    while detector.frame_count < frames + 150:  # well past the end of that crossing
        await hub.next_frame(hub.latest.seq if hub.latest else None)
    assert detector.event_count == events and detector.current_event is None
    assert detector.last_event is not None and detector.last_event.phase == "end"
    count = detector.trigger_count
    detector.threshold = 12.0
    again = await detector.wait_motion()  # the next crossing fires again
    assert again.count == count + 1 and again.event != first.event
    assert detector.event_count == events + 1
    assert detector.bad_frames == 1
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
