"""Motion events: grouping firing frames (gap, cooldown, min_frames) and the archiving policy."""

import math

import pytest

from yardcam.camera import Frame
from yardcam.motion import ArchivePolicy, Event, EventPhase, MotionDetector, MotionEvent


def frame(seq: int, fps: float = 10.0) -> Frame:
    return Frame(b"\xff\xd8", ts=seq / fps, seq=seq, width=8, height=8)


def run(
    detector: MotionDetector, changes: list[float], fps: float = 10.0
) -> tuple[list[MotionEvent], list[Event]]:
    """Feed ``changes`` as frames 0, 1, 2... at ``fps``; the triggers and notices published.

    The detectors given are made with ``min_frames=1`` unless the test is about it, so that the
    frame numbers in the expectations are the ones the changes were fed with."""
    triggers: list[MotionEvent] = []
    notices: list[Event] = []
    detector.subscribe(triggers.append)
    detector.subscribe_events(notices.append)
    for seq, change in enumerate(changes):
        detector.decide(frame(seq, fps), change)
    return triggers, notices


def ends(notices: list[Event]) -> list[Event]:
    return [n for n in notices if n.phase is EventPhase.END]


def test_a_gap_shorter_than_the_tolerance_keeps_one_event() -> None:
    # 0.2 s of quiet inside the motion, then 3.1 s of quiet: one event, closed by frame 38.
    changes = [0] * 2 + [30] * 5 + [0] * 2 + [40] * 3 + [0] * 31
    triggers, notices = run(MotionDetector(min_frames=1, gap=3.0), changes)
    assert [n.phase for n in notices] == [EventPhase.START, EventPhase.END]  # < 1 s: no update
    (end,) = ends(notices)
    assert end.id == "200-2" and end.start == 0.2 and end.end == pytest.approx(1.1)
    assert end.frames == 8 and end.peak_change == 40 and end.best.seq == 9
    assert end.duration == pytest.approx(0.9)
    # The first frame, one a second (seq 12 is 1.0 s after seq 2), and the best (seq 9) at the
    # end, when it is known to be the best.
    assert [(t.frame.seq, t.event) for t in triggers] == [(2, "200-2"), (9, "200-2")]
    assert end.archived == 2
    assert notices[-1] is end and end.to_dict()["best_seq"] == 9


def test_a_gap_longer_than_the_tolerance_starts_a_new_event() -> None:
    changes = [30] * 3 + [0] * 6 + [30] * 3 + [0] * 20
    _, notices = run(MotionDetector(min_frames=1, gap=0.5), changes)
    assert [(n.id, n.frames) for n in ends(notices)] == [("0-0", 3), ("900-9", 3)]
    # The second event's first frame closed nothing: the first ended 0.6 s after its last frame.
    assert [n.phase.value for n in notices] == ["start", "end", "start", "end"]


def test_the_event_stays_open_until_a_frame_past_the_gap_or_end_event() -> None:
    detector = MotionDetector(min_frames=1, gap=3.0)
    _, notices = run(detector, [30, 30, 0, 0])
    assert detector.current_event is not None and detector.current_event.frames == 2
    assert not ends(notices)
    detector.end_event(now=0.4)
    assert detector.current_event is None and len(ends(notices)) == 1
    detector.end_event(now=0.5)  # nothing running: nothing to end
    assert len(ends(notices)) == 1


def test_cooldown_keeps_a_new_event_from_starting_right_after_one_ended() -> None:
    # The first event is closed at frame 7 (0.5 s after frame 2); cooldown 1 s: frames 8..16
    # cannot start one, frame 17 can.
    changes = [30] * 3 + [0] * 5 + [30] * 12
    _, notices = run(MotionDetector(min_frames=1, gap=0.45, cooldown=1.0), changes)
    starts = [n for n in notices if n.phase is EventPhase.START]
    assert [s.id for s in starts] == ["0-0", "1700-17"]
    _, without = run(MotionDetector(min_frames=1, gap=0.45), changes)
    assert [n.id for n in without if n.phase is EventPhase.START] == ["0-0", "800-8"]


def test_min_frames_needs_that_many_frames_in_a_row_to_start() -> None:
    flicker = [30, 0] * 20  # never two in a row
    triggers, notices = run(MotionDetector(min_frames=2), flicker)
    assert triggers == [] and notices == []
    triggers, notices = run(MotionDetector(min_frames=2), [30, 30, 30])
    assert [t.frame.seq for t in triggers] == [1] and notices[0].start == 0.1


def test_updates_come_at_most_once_a_second_with_the_whole_story() -> None:
    detector = MotionDetector(min_frames=1)
    _, notices = run(detector, [20 + i for i in range(35)])  # 3.5 s of rising motion
    updates = [n for n in notices if n.phase is EventPhase.UPDATE]
    assert [u.frames for u in updates] == [11, 21, 31]
    assert updates[-1].peak_change == 50 and updates[-1].end == 3.0


@pytest.mark.parametrize(
    ("policy", "archived"),
    [
        (ArchivePolicy(), [0, 10, 20, 30, 40, 25]),  # first, one a second, best at the end
        (ArchivePolicy(per_second=0.5), [0, 20, 40, 25]),
        (ArchivePolicy(per_second=0), [0, 25]),  # first and best only
        (ArchivePolicy(every_frame=True), list(range(50))),
    ],
)
def test_the_policy_picks_what_a_5_s_crossing_archives(
    policy: ArchivePolicy, archived: list[int]
) -> None:
    peak_at_25 = [50 - abs(25 - i) for i in range(50)]  # 5 s at 10 fps, the peak mid-way
    detector = MotionDetector(min_frames=1, policy=policy)
    triggers, notices = run(detector, peak_at_25 + [0] * 40)
    assert [t.frame.seq for t in triggers] == archived
    assert {t.event for t in triggers} == {"0-0"}
    (end,) = ends(notices)
    assert end.archived == len(archived) and end.frames == 50
    assert end.best.seq == 25 and end.peak_change == 50


def test_the_policy_can_change_while_an_event_runs() -> None:
    detector = MotionDetector(min_frames=1)
    triggers, _ = run(detector, [30] * 5)
    detector.policy = ArchivePolicy(every_frame=True)
    detector.decide(frame(5), 30)
    assert [t.frame.seq for t in triggers] == [0, 5]


@pytest.mark.parametrize("per_second", [-1, math.inf, math.nan])
def test_a_policy_says_what_is_wrong(per_second: float) -> None:
    with pytest.raises(ValueError, match="every_frame"):
        ArchivePolicy(per_second=per_second)


@pytest.mark.parametrize(("option", "value"), [("gap", -1.0), ("cooldown", -0.5)])
def test_negative_times_are_refused(option: str, value: float) -> None:
    with pytest.raises(ValueError, match=option):
        MotionDetector(**{option: value})


def test_among_frames_of_equal_change_the_best_is_where_the_most_moved() -> None:
    detector = MotionDetector(min_frames=1)
    notices: list[Event] = []
    detector.subscribe_events(notices.append)
    for seq, (change, moved) in enumerate(
        [(40, 50), (100, 300), (100, 800), (100, 500), (90, 900)]
    ):
        detector.decide(frame(seq), change, moved)
    detector.end_event(10.0)
    (end,) = ends(notices)
    assert (end.best.seq, end.peak_change) == (
        2,
        100,
    )  # not 1, the first at 100; not 4, less change
