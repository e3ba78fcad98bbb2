"""The cam process of the crash test: synthetic frames, every one a trigger, uploaded at once.

Frames come from the real synthetic source and reach the uploader as real ``MotionEvent`` s via
``Uploader.submit``, the detector's path. Every frame is treated as a trigger: the synthetic
yard is quiet for its first 6 s, longer than a run lasts between two kills.

Run by ``test_outbox_crash.py`` and SIGKILLed at random moments. It keeps a ledger next to
the outbox, appended with one ``os.write`` per line on an ``O_APPEND`` descriptor (SIGKILL
cannot tear such a write, and no power cut is simulated, so no fsync is needed)::

    intent <id> <sha256>   the frame triggered and is handed to Uploader.submit
    stored <id>            the uploader's on_stored hook: the frame is durable from here on
    stall <ms>             the longest event-loop stall (the detector's loop) in the last 0.5 s
    counts <pid> <evicted> <dropped>   the uploader's counts so far, every 0.5 s and at exit

On SIGTERM it stops triggering, gives in-flight uploads 2 s and exits (frames still queued stay
in the outbox for the next start).

"Triggered" in the exactly-once promise means *stored*: a frame killed between ``intent`` and
``stored`` was never accepted by the outbox (as if the power had gone a moment earlier: it was
still in the in-memory handoff or mid-write), and may or may not be archived; if it is, it must
still be whole and once.

The ledger is read by ``tests/exactly_once.py``. With ``--drain`` it triggers nothing, uploads
what the outbox holds and exits when it is empty.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

from yardcam.camera import Frame, open_source
from yardcam.motion import MotionEvent
from yardcam.outbox import Entry, Outbox, TokenSource, Uploader, frame_id
from yardcam.requests import Backoff


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--outbox", type=Path, required=True)
    parser.add_argument("--ledger", type=Path, required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--ca", help="the archive's CA bundle (https:// URLs)")
    parser.add_argument("--token", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cam", default="crash")
    parser.add_argument("--fps", type=float, default=40)
    parser.add_argument("--timeout", type=float, nargs=2, default=(5.0, 30.0))
    parser.add_argument("--max-bytes", type=int, help="the outbox's byte bound (default: auto)")
    parser.add_argument("--drain", action="store_true")
    return parser.parse_args()


async def main(args: argparse.Namespace) -> None:
    ledger = os.open(args.ledger, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def stored(entry: Entry) -> None:
        os.write(ledger, f"stored {entry.id}\n".encode())

    bound = {} if args.max_bytes is None else {"max_bytes": args.max_bytes}
    uploader = Uploader(
        Outbox(args.outbox, **bound),
        args.url,
        cam=args.cam,
        token=TokenSource(args.token),
        verify=args.ca or True,
        timeout=tuple(args.timeout),
        backoff=Backoff(base=0.05, cap=0.3),
        retry_interval=0.1,
        token_probe_interval=0.1,
        on_stored=stored,
    )
    running = asyncio.create_task(uploader.run())
    watch = asyncio.create_task(watch_stalls(ledger, uploader))
    terminated = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, terminated.set)
    if args.drain:
        await uploader.join()
    else:
        source = open_source(f"synthetic:seed={args.seed},width=320,height=180", fps=args.fps)
        async for count, frame in aenumerate(source.frames()):
            if terminated.is_set():  # SIGTERM: stop triggering, let in-flight uploads end
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(uploader.join(), 2.0)
                break
            sha = hashlib.sha256(frame.jpeg).hexdigest()
            os.write(ledger, f"intent {frame_id(args.cam, frame.ts, frame.seq)} {sha}\n".encode())
            uploader.submit(MotionEvent(frame=frame, ts=frame.ts, count=count, change=50.0))
    report_counts(ledger, uploader)
    for task in (running, watch):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def report_counts(ledger: int, uploader: Uploader) -> None:
    """This process's evicted and dropped frames so far (the ledger keeps the last per pid)."""
    stats = uploader.stats()
    line = f"counts {os.getpid()} {stats['evicted']} {stats['dropped']}\n"
    os.write(ledger, line.encode())


async def watch_stalls(ledger: int, uploader: Uploader, tick: float = 0.01) -> None:
    """How late a 10 ms timer fires is how long anything else held the loop: the detector's
    loop in a real cam. The worst per half second goes to the ledger, with the uploader's
    counts."""
    loop = asyncio.get_running_loop()
    worst, reported = 0.0, loop.time()
    while True:
        before = loop.time()
        await asyncio.sleep(tick)
        worst = max(worst, loop.time() - before - tick)
        if loop.time() - reported >= 0.5:
            os.write(ledger, f"stall {worst * 1000:.1f}\n".encode())
            report_counts(ledger, uploader)
            worst, reported = 0.0, loop.time()


async def aenumerate(items: AsyncIterator[Frame]) -> AsyncIterator[tuple[int, Frame]]:
    count = 0
    async for item in items:
        count += 1
        yield count, item


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
