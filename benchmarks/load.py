"""Load: N simulated cams, each a real ``Uploader`` with its own ``Outbox``, against one archive
node (file+SQLite) and against two scaled nodes (SeaweedFS+PostgreSQL), for a fixed time.

Usage: ``.venv/bin/python benchmarks/load.py [--cams N] [--fps F] [--seconds S]
[--stacks file,scaled]``

Every cam triggers ``F`` frames/s (a ~100 KB JPEG, ``ts`` = the moment of the trigger) for S
seconds, all cams in this one process (one event loop, as N cams would each have their own
box); the nodes are real archive processes (``tests/archive/node_process.py``). With two
nodes, half the cams upload to each (no balancer in between to measure instead). Afterwards
every cam's outbox is drained and the archive's index is read: ``received - ts`` of each frame is
its motion-to-archived latency (one clock: everything runs on this box). Prints per stack:
offered and sustained frames/s (archived within the S seconds), p50/p99/max latency, errors
(retries, dead letters, drops), the nodes' peak RSS, and this process's longest loop stall.
Figures on a shared 2-core box are noisy: compare the rows of one run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

# The tests' helpers, in place of this script's own directory: benchmarks/archive.py would
# shadow the tests' archive package (a namespace package loses to a module of the same name).
sys.path.remove(str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from archive.helpers import fresh_database, make_jpeg, new_tokens
from archive.node_process import NodeProcess
from archive.servers import postgres_server, seaweedfs_server
from yardcam.archive import ArchiveSettings
from yardcam.archive.storage import open_frame_index
from yardcam.camera import Frame
from yardcam.outbox import Outbox, TokenSource, Uploader


@dataclass
class Result:
    stack: str
    nodes: int
    offered: float
    sustained: float
    p50: float
    p99: float
    worst: float
    errors: int
    rss_mb: float
    stall_ms: float


async def run_cams(
    urls: list[str], tokens: list[str], work: Path, fps: float, seconds: float
) -> tuple[int, float]:
    """Drive every cam for ``seconds``, drain them; (errors, the loop's longest stall in s)."""
    frames = [make_jpeg(320, 240, seed=i, noise=True) for i in range(8)]  # ~100 KB each
    uploaders = []
    for i, token in enumerate(tokens):
        token_file = work / f"token-{i}"
        token_file.write_text(token)
        uploaders.append(
            Uploader(
                Outbox(work / f"outbox-{i}"),
                f"{urls[i % len(urls)]}/frames",
                cam=f"load-{i}",
                token=TokenSource(token_file),
                retry_interval=0.5,
            )
        )
    tasks = [asyncio.create_task(u.run()) for u in uploaders]
    loop = asyncio.get_running_loop()
    stall = 0.0

    async def watch() -> None:
        nonlocal stall
        while True:
            before = loop.time()
            await asyncio.sleep(0.01)
            stall = max(stall, loop.time() - before - 0.01)

    async def cam(i: int, uploader: Uploader) -> None:
        await asyncio.sleep(i / len(uploaders) / fps)  # spread the cams over one period
        start, seq = loop.time(), 0
        while loop.time() - start < seconds:
            jpeg = frames[(i + seq) % len(frames)]
            uploader.submit(Frame(jpeg, time.time(), seq, 320, 240), 50.0)
            seq += 1
            await asyncio.sleep(max(0.0, start + seq / fps - loop.time()))

    watcher = asyncio.create_task(watch())
    await asyncio.gather(*(cam(i, u) for i, u in enumerate(uploaders)))
    await asyncio.wait_for(asyncio.gather(*(u.join() for u in uploaders)), 300)
    watcher.cancel()
    errors = 0
    for u in uploaders:
        s = u.stats()
        errors += int(s["retried"]) + int(s["dead_lettered"]) + int(s["dropped"])  # type: ignore[call-overload]
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return errors, stall


async def archived(settings: ArchiveSettings, cams: int) -> list[tuple[float, float]]:
    """``(ts, received)`` of every frame the cams triggered."""
    index = await open_frame_index(settings.index)
    found: list[tuple[float, float]] = []
    try:
        for i in range(cams):
            cursor = None
            while True:
                page = await index.list_frames(cam=f"load-{i}", limit=1000, cursor=cursor)
                found += [(f.ts, f.received) for f in page.frames]
                if (cursor := page.next_cursor) is None:
                    break
    finally:
        await index.close()
    return found


def measure(
    stack: str, settings: ArchiveSettings, nodes: int, args: argparse.Namespace, work: Path
) -> Result:
    tokens = new_tokens(settings, *((f"load-{i}", "upload") for i in range(args.cams)))
    running = [NodeProcess(settings, log=work / f"{stack}-node{i}.log") for i in range(nodes)]
    peak = 0
    try:
        for node in running:
            node.start()
        for node in running:
            node.wait_ready()
        procs = [psutil.Process(node.proc.pid) for node in running if node.proc]

        async def sample() -> None:
            nonlocal peak
            while True:
                peak = max(peak, sum(p.memory_info().rss for p in procs))
                await asyncio.sleep(0.5)

        async def main() -> tuple[int, float]:
            sampler = asyncio.create_task(sample())
            try:
                return await run_cams(
                    [n.url for n in running], tokens, work / stack, args.fps, args.seconds
                )
            finally:
                sampler.cancel()

        (work / stack).mkdir()
        started = time.time()
        errors, stall = asyncio.run(main())
        window_end = started + args.seconds
    finally:
        for node in running:
            node.close()
    frames = asyncio.run(archived(settings, args.cams))
    lat = [received - ts for ts, received in frames]
    delivered = sum(1 for _, received in frames if received < window_end)  # within the window
    q = statistics.quantiles(lat, n=100, method="inclusive") if len(lat) >= 2 else [0.0] * 99
    return Result(
        stack,
        nodes,
        offered=args.cams * args.fps,
        sustained=delivered / args.seconds,
        p50=q[49],
        p99=q[98],
        worst=max(lat, default=0.0),
        errors=errors,
        rss_mb=peak / 2**20,
        stall_ms=stall * 1000,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cams", type=int, default=20)
    parser.add_argument("--fps", type=float, default=2.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--stacks", default="file,scaled")
    args = parser.parse_args()
    results = []
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in args.stacks.split(","):
            if name == "file":
                settings = ArchiveSettings.for_data_dir(work / "file-archive", purge_interval=0)
                results.append(measure("file+sqlite", settings, 1, args, work))
            else:
                pg = stack.enter_context(postgres_server())
                s3 = stack.enter_context(seaweedfs_server(work / "seaweedfs"))
                settings = ArchiveSettings.for_data_dir(
                    work / "scaled-archive",
                    blobs=f"s3://load?endpoint={s3}",
                    index=fresh_database(pg),
                    purge_interval=0,
                )
                results.append(measure("s3+postgres", settings, 2, args, work))
    print(f"\n{args.cams} cams x {args.fps:g} frames/s for {args.seconds:g} s, ~100 KB frames")
    print(
        f"{'stack':12} {'nodes':>5} {'offered/s':>9} {'archived/s':>10} {'p50 ms':>7} "
        f"{'p99 ms':>7} {'max ms':>7} {'errors':>6} {'node RSS MB':>11} {'cam stall ms':>12}"
    )
    for r in results:
        print(
            f"{r.stack:12} {r.nodes:5} {r.offered:9.0f} {r.sustained:10.1f} {r.p50 * 1000:7.0f} "
            f"{r.p99 * 1000:7.0f} {r.worst * 1000:7.0f} {r.errors:6} {r.rss_mb:11.0f} "
            f"{r.stall_ms:12.0f}"
        )


if __name__ == "__main__":
    main()
