"""How many 720p cameras one ``yardcam run`` process watches at 10 fps before frames are skipped.

Usage: ``.venv/bin/python benchmarks/cameras.py [--seconds S] [--max N]``

Each camera is what ``yardcam run`` builds for a ``[[camera]]`` table: a ``dir:`` source (60
camera-like 720p JPEGs of the synthetic yard, a person crossing, looped and paced at 10 fps:
the JPEGs arrive ready-made, as from an IP camera, so the box pays for detection, not for
rendering), a ``FrameHub`` and a ``MotionDetector`` (measuring in a worker thread, the default),
all on one event loop. For N = 1, 2, 4, ... cameras it runs S seconds and prints:

* frames measured per second (all cameras), as a share of the N x 10 fps the cameras send
  ("kept up": below 100 % the sources or the loop fell behind), and the share of published
  frames the detectors skipped because they were still busy with an earlier one
  (``detector.skipped``);
* the event loop's longest stall: a ticker sleeps 1 ms and records how late it wakes (what the
  web app and the uploader would wait);
* the process's CPU use (process time / wall time; 200 % is both cores of this box).

The answer is the largest N with no frame skipped (under 0.5 %) and at least 95 % kept up.
The build box is shared by other sessions
(2 cores): a neighbour's burst shows up as skipped frames or a stall that says nothing about
yardcam, so each N is the best of R rounds, and the figures are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from pathlib import Path

from yardcam.camera import FrameHub, SyntheticScene, open_source
from yardcam.motion import MotionDetector

TICK = 0.001
FPS = 10.0


def write_frames(directory: Path, n: int = 60) -> None:
    """``n`` 720p frames around the first crossing of the default scene."""
    scene = SyntheticScene(width=1280, height=720)
    start = scene.crossings(10_000)[0].enters - n // 3
    for i in range(n):
        (directory / f"{i:04d}.jpg").write_bytes(scene.jpeg(start + i))


async def ticker(stalls: list[float]) -> None:
    loop = asyncio.get_running_loop()
    while True:
        before = loop.time()
        await asyncio.sleep(TICK)
        stalls.append(loop.time() - before - TICK)


def p99(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.99)] if values else 0.0


async def watch(cameras: int, frames: Path, seconds: float) -> dict[str, float]:
    hubs = [FrameHub() for _ in range(cameras)]
    detectors = [MotionDetector() for _ in range(cameras)]
    tasks = []
    for hub, detector in zip(hubs, detectors, strict=True):
        source = open_source(f"dir:{frames}", fps=FPS, loop=True)
        tasks += [asyncio.create_task(hub.run(source)), asyncio.create_task(detector.run(hub))]
    await asyncio.sleep(1.0)  # warm up: first decodes, background models
    stalls: list[float] = []
    tick = asyncio.create_task(ticker(stalls))
    measured0 = sum(d.frame_count for d in detectors)
    skipped0 = sum(d.skipped for d in detectors)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.sleep(seconds)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    measured = sum(d.frame_count for d in detectors) - measured0
    skipped = sum(d.skipped for d in detectors) - skipped0
    for task in [*tasks, tick]:
        task.cancel()
    for task in [*tasks, tick]:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return {
        "fps": measured / wall,
        "kept_up": measured / wall / (cameras * FPS),
        "skipped": skipped / max(measured + skipped, 1),
        "stall_ms": max(stalls, default=0.0) * 1000,
        "p99_ms": p99(stalls) * 1000,
        "cpu": cpu / wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--max", type=int, default=32)

    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        frames = Path(tmp)
        write_frames(frames)
        print(
            f"720p cameras at {FPS:g} fps in one process, {args.seconds:g} s per run, best of "
            f"{args.rounds} (shared 2-core box: noisy)"
        )
        print(
            f"{'cameras':>7} {'frames/s':>9} {'kept up':>8} {'skipped':>8} "
            f"{'longest stall (p99)':>20} {'CPU':>6}"
        )
        best_clean = 0
        cameras = 1
        while cameras <= args.max:
            runs = [asyncio.run(watch(cameras, frames, args.seconds)) for _ in range(args.rounds)]
            best = min(runs, key=lambda r: (r["skipped"], -r["kept_up"], r["stall_ms"]))
            print(
                f"{cameras:>7} {best['fps']:>9.1f} {best['kept_up']:>7.0%} {best['skipped']:>7.1%} "
                f"{best['stall_ms']:>9.1f} ms ({best['p99_ms']:4.1f}) {best['cpu']:>5.0%}",
                flush=True,
            )
            if best["skipped"] > 0.005 or best["kept_up"] < 0.95:
                break
            best_clean = cameras
            cameras = cameras + 1 if cameras < 4 else cameras + 2
        print(f"=> {best_clean} cameras watched with no frame skipped (< 0.5 %, >= 95 % kept up)")


if __name__ == "__main__":
    main()
