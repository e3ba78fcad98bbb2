"""The cam process of the crash test: synthetic frames, every one a trigger, uploaded at once.

Run by ``test_archiver_crash.py`` and SIGKILLed at random moments. It keeps a ledger next to
the outbox, appended with one ``os.write`` per line on an ``O_APPEND`` descriptor (SIGKILL
cannot tear such a write, and no power cut is simulated, so no fsync is needed)::

    intent <id> <sha256>   the frame triggered and is about to be enqueued
    stored <id>            Outbox.put returned: the frame is durable from here on

"Triggered" in the exactly-once promise means *stored*: a frame killed between ``intent`` and
``stored`` was never accepted by the outbox (as if the power had gone a moment earlier), and may
or may not be archived; if it is, it must still be whole and once.

With ``--drain`` it triggers nothing, uploads what the outbox holds and exits when it is empty.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import os
from pathlib import Path

from yardcam.archiver import Backoff, Outbox, TokenSource, Uploader, frame_id
from yardcam.camera import open_source


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--outbox", type=Path, required=True)
    parser.add_argument("--ledger", type=Path, required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--token", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--drain", action="store_true")
    return parser.parse_args()


async def main(args: argparse.Namespace) -> None:
    uploader = Uploader(
        Outbox(args.outbox),
        args.url,
        cam="crash",
        token=TokenSource(args.token),
        verify=args.ca,
        backoff=Backoff(base=0.05, cap=0.3),
        retry_interval=0.1,
        token_probe_interval=0.1,
    )
    running = asyncio.create_task(uploader.run())
    if args.drain:
        await uploader.join()
    else:
        ledger = os.open(args.ledger, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        source = open_source(f"synthetic:seed={args.seed},width=320,height=180", fps=40)
        async for frame in source.frames():
            sha = hashlib.sha256(frame.jpeg).hexdigest()
            os.write(ledger, f"intent {frame_id('crash', frame.ts, frame.seq)} {sha}\n".encode())
            entry = await uploader.enqueue(frame, 50.0)
            os.write(ledger, f"stored {entry.id}\n".encode())
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
