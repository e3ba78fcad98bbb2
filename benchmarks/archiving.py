"""What one person crossing the yard costs the archive, before and after motion events.

Usage: ``.venv/bin/python benchmarks/archiving.py``

The default synthetic yard at 1280x720, 10 fps, quality 85: the first crossing at least 5 s long
(someone close to the camera). The detector runs at its defaults on every frame from the start
(so its background is learnt) until the event has ended; the script counts the frames handed to
the uploader, and their bytes, with ``ArchivePolicy(every_frame=True)`` (what yardcam archived
before it had events) and with the default policy (first frame, best frame, one a second).
Deterministic: no timing is involved.
"""

from __future__ import annotations

from yardcam.camera import Frame, SyntheticScene
from yardcam.motion import ArchivePolicy, MotionDetector, MotionEvent


def archived(policy: ArchivePolicy) -> tuple[int, int, float, int]:
    """Frames, bytes, event duration and triggered frames for the first 5 s crossing."""
    scene = SyntheticScene()
    crossing = next(c for c in scene.crossings(100_000) if c.exits - c.enters >= 50)
    detector = MotionDetector(policy=policy)
    kept: list[MotionEvent] = []
    detector.subscribe(kept.append)
    ends = []
    detector.subscribe_events(lambda e: ends.append(e) if e.phase == "end" else None)
    index = 0
    while not ends:
        frame = Frame(scene.jpeg(index), index / scene.fps, index, scene.width, scene.height)
        detector.process(frame)
        index += 1
        if index > crossing.exits + 100:
            raise RuntimeError("the crossing never ended an event")
    event = ends[0]
    return len(kept), sum(len(t.frame.jpeg) for t in kept), event.duration, event.frames


def main() -> None:
    print("policy                     frames     bytes   (event: duration, triggered frames)")
    for name, policy in (
        ("every frame (before)", ArchivePolicy(every_frame=True)),
        ("default (after)", ArchivePolicy()),
    ):
        frames, size, duration, triggered = archived(policy)
        print(f"{name:24} {frames:8} {size:9,}   ({duration:.1f} s, {triggered})")


if __name__ == "__main__":
    main()
