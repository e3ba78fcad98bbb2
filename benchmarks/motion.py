"""Motion detection cost: yardcam's detector against its floor and the common OpenCV pattern.

Usage: ``.venv/bin/python benchmarks/motion.py [--seconds S] [--rounds R]``

For 720p and 1080p camera-like JPEGs (the synthetic yard: textured lawn, sensor noise, a person
crossing; quality 85, 4:2:0) it prints frames per CPU-second, single-threaded, of:

(a) decode only: libjpeg-turbo grayscale decode at 1/8 DCT scale, the detector's floor;
(b) ``MotionDetector.process``: that decode plus the whole change measure and trigger decision;
(c) the common OpenCV pattern: full-size ``cv2.imdecode``, gray, 21x21 Gaussian blur,
    ``absdiff`` against the previous frame, threshold 25, dilate x2, ``findContours``.

Targets (issue 3): b/a >= 0.90, b/c >= 3. Then the event loop's longest stall while a hub is fed
at 30 fps and the detector runs on it, measured by a ticker task that sleeps 1 ms and records how
late it wakes, with the measurement inline on the loop and offloaded to a thread (the default),
next to a baseline with no detector. Target: < 5 ms.

Every figure is the best of R interleaved rounds: the build box is shared, and a neighbour's burst
of work shows up as a stall or a slow round that says nothing about yardcam.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import time
from collections.abc import Callable

import cv2
import numpy as np
import simplejpeg

from yardcam.camera import Frame, FrameHub, SyntheticScene
from yardcam.motion import MotionDetector

SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}
TICK = 0.001


def camera_frames(width: int, height: int, n: int = 60) -> list[Frame]:
    """``n`` frames around the first crossing of the default scene (still yard, then a walker)."""
    scene = SyntheticScene(width=width, height=height)
    start = scene.crossings(10_000)[0].enters - n // 3
    return [Frame(scene.jpeg(i), i / 10, i, width, height) for i in range(start, start + n)]


def rate(work: Callable[[Frame], object], frames: list[Frame], seconds: float) -> float:
    """Frames per CPU-second of ``work``, looping over ``frames`` for about ``seconds``."""
    for f in frames[:5]:
        work(f)  # warm caches and the background model
    done = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    while time.perf_counter() - wall0 < seconds:
        for f in frames:
            work(f)
        done += len(frames)
    return done / (time.process_time() - cpu0)


def decode_only(frame: Frame) -> object:
    return simplejpeg.decode_jpeg(
        frame.jpeg,
        colorspace="GRAY",
        fastdct=True,
        min_height=-(-frame.height // 8),
        min_width=-(-frame.width // 8),
    )


class OpenCVPattern:
    """The motion loop found in most tutorials and hobby projects."""

    def __init__(self) -> None:
        self.previous: np.ndarray | None = None
        self.kernel = np.ones((3, 3), np.uint8)

    def __call__(self, frame: Frame) -> object:
        image = cv2.imdecode(np.frombuffer(frame.jpeg, np.uint8), cv2.IMREAD_COLOR)
        gray = cv2.GaussianBlur(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), (21, 21), 0)
        previous, self.previous = self.previous, gray
        if previous is None:
            return None
        delta = cv2.absdiff(previous, gray)
        mask = cv2.threshold(delta, 25, 255, cv2.THRESH_BINARY)[1]
        mask = cv2.dilate(mask, self.kernel, iterations=2)
        contours = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[0]
        return [c for c in contours if cv2.contourArea(c) > 500]


async def longest_stall(
    frames: list[Frame], mode: str, seconds: float
) -> tuple[float, float, float]:
    """While frames arrive at 30 fps: (max, p99) lateness in ms of a 1 ms ticker, and the most
    CPU time (ms) the loop's own thread spent during one tick.

    Lateness is what the issue asks for, but on a shared box it also holds the time the OS gave
    the CPU to a neighbour; the loop thread's CPU time does not, so it shows what yardcam itself
    costs the loop."""
    hub = FrameHub()
    loop = asyncio.get_running_loop()
    tasks = []
    if mode != "baseline":
        tasks.append(asyncio.create_task(MotionDetector(offload=mode == "offloaded").run(hub)))

    async def camera() -> None:
        seq = 0
        next_at = loop.time()
        while True:
            f = frames[seq % len(frames)]
            hub.publish(Frame(f.jpeg, time.time(), seq, f.width, f.height))
            seq += 1
            next_at += 1 / 30
            await asyncio.sleep(max(0.0, next_at - loop.time()))

    tasks.append(asyncio.create_task(camera()))
    late: list[float] = []
    busy = 0.0
    end = loop.time() + seconds
    while (before := loop.time()) < end:
        cpu = time.thread_time()
        await asyncio.sleep(TICK)
        late.append(loop.time() - before - TICK)
        busy = max(busy, time.thread_time() - cpu)
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    late.sort()
    return max(late) * 1e3, late[int(len(late) * 0.99)] * 1e3, busy * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="per measurement and round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    cv2.setNumThreads(1)  # per core: every contender single-threaded

    print(
        f"{'':6} {'size':>8} {'(a) decode 1/8':>15} {'(b) yardcam':>12} {'(c) OpenCV':>11}"
        f" {'b/a':>6} {'b/c':>6}   frames/CPU-s"
    )
    stalls = {}
    for name, (width, height) in SIZES.items():
        frames = camera_frames(width, height)
        size = statistics.mean(len(f.jpeg) for f in frames) / 1024
        detector, opencv = MotionDetector(offload=False), OpenCVPattern()
        a = b = c = 0.0
        for _ in range(args.rounds):
            a = max(a, rate(decode_only, frames, args.seconds))
            b = max(b, rate(detector.process, frames, args.seconds))
            c = max(c, rate(opencv, frames, args.seconds))
        print(f"{name:6} {size:6.0f}KB {a:15.0f} {b:12.0f} {c:11.0f} {b / a:6.2f} {b / c:6.1f}")
        modes = ("baseline", "inline", "offloaded")
        runs: dict[str, list[tuple[float, float, float]]] = {mode: [] for mode in modes}
        for _ in range(args.rounds):
            for mode in modes:
                runs[mode].append(asyncio.run(longest_stall(frames, mode, args.seconds)))
        stalls[name] = {
            mode: [min(column) for column in zip(*r, strict=True)] for mode, r in runs.items()
        }
    print(
        "\nevent loop at 30 fps, ms: max / p99 lateness of a 1 ms ticker, and the most CPU the"
        " loop thread spent in one tick (each the best of R rounds)"
    )
    print(f"{'':6} {'no detector':>22} {'inline':>22} {'offloaded':>22}")
    for name, by_mode in stalls.items():
        cells = " ".join(f"{m:6.2f} / {p:5.2f} cpu {c:5.2f}" for m, p, c in by_mode.values())
        print(f"{name:6} {cells}")
    print("targets: b/a >= 0.90, b/c >= 3, offloaded max stall < 5 ms")


if __name__ == "__main__":
    main()
