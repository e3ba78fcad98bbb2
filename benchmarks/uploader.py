"""The outbox and uploader under load: upload rate, and what it costs the detector's event loop.

    .venv/bin/python benchmarks/uploader.py [--frames 400] [--uplink-frames 40] [--mbps 20]

Two HTTPS servers run in subprocesses (trustme certificates), so neither competes for this
process's GIL: ``_sink.py``, a fast local keep-alive sink, and an "uplink" sink built here that
reads every request body through one shared token bucket of ``--mbps`` megabits per second,
like a cam's home upload link.

Each run has a detector-like loop on the same event loop: it ticks every 2 ms and triggers a
new 1280x720 synthetic frame (~200 KB) at 10 fps, as ``MotionDetector`` would on a busy yard;
its longest stall is how late a tick woke up. Per server:

* the Uploader flat out: the outbox pre-filled (fsynced, on the real disk under ``--dir``),
  sent over one pooled, TLS-verified ``AsyncSession``; triggers go through ``submit``;
* the pattern the product docs started from: ``async def archive_frame`` calling the blocking
  CPython ``requests.post`` inside a coroutine, a backlog uploaded flat out, and every trigger
  fired with ``asyncio.create_task``.

Plus the loop with nothing else running: this machine's own scheduling noise. The target for
the Uploader is a longest stall under 5 ms; the blocking pattern stalls for whole uploads.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import trustme

import requests as cpython_requests
from yardcam.camera import Frame, SyntheticScene
from yardcam.outbox import Outbox, TokenSource, Uploader

HERE = Path(__file__).parent
TICK = 0.002
DETECTOR_FPS = 10.0
RESPONSE = b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


# -- the uplink sink (runs in its own process: ``uploader.py --uplink-sink CERT KEY MBPS``) ----


class TokenBucket:
    """One shared uplink: every byte of every connection waits for its slot."""

    def __init__(self, bytes_per_second: float) -> None:
        self.rate = bytes_per_second
        self.free_at = time.monotonic()
        self.lock = threading.Lock()

    def take(self, count: int) -> None:
        with self.lock:
            start = max(self.free_at, time.monotonic())
            self.free_at = start + count / self.rate
        time.sleep(max(self.free_at - time.monotonic(), 0.0))


def uplink_sink(certfile: str, keyfile: str, mbps: str) -> None:
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(certfile, keyfile)
    bucket = TokenBucket(float(mbps) * 1e6 / 8)
    listener = socket.create_server(("127.0.0.1", 0), backlog=64)

    def handle(conn: socket.socket) -> None:
        # A client that goes away or sends garbage only ends its own connection.
        with (
            contextlib.suppress(OSError, ValueError),
            tls.wrap_socket(conn, server_side=True) as tconn,
            tconn.makefile("rb") as rfile,
        ):
            while read_request(rfile, bucket):
                tconn.sendall(RESPONSE)

    def accept() -> None:
        while True:
            conn, _ = listener.accept()
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    print("READY", listener.getsockname()[1], flush=True)
    sys.stdin.read()  # the benchmark closes our stdin (or exits) to stop us


def read_request(rfile: BinaryIO, bucket: TokenBucket) -> bool:
    """One request with a Content-Length body (both clients send one for files=)."""
    if not rfile.readline(65536):
        return False
    length = None
    while (line := rfile.readline(65536)) not in (b"\r\n", b"\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length is None:
        raise ValueError("this sink needs Content-Length")
    while length:
        chunk = rfile.read(min(length, 16384))
        if not chunk:
            raise ValueError("body cut short")
        bucket.take(len(chunk))
        length -= len(chunk)
    return True


# -- the benchmark ------------------------------------------------------------------------


@contextlib.contextmanager
def server(command: list[str]) -> Iterator[str]:
    """Start a sink subprocess; yields its HTTPS URL once it accepts connections."""
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdin is not None and process.stdout is not None
    try:
        ready = process.stdout.readline().split()  # blocks until the sink listens
        if ready[:1] != ["READY"]:
            raise RuntimeError(f"{command[1]} did not start")
        yield f"https://127.0.0.1:{ready[-1]}/frames"  # _sink.py prints http, then https
    finally:
        process.stdin.close()
        process.wait(timeout=10)


class StallMeter:
    """The detector-like loop: tick every 2 ms, trigger at 10 fps; record how late ticks were."""

    def __init__(self, jpegs: list[bytes], trigger: Callable[[Frame], None]) -> None:
        self.jpegs = jpegs
        self.trigger = trigger
        self.stalls: list[float] = []
        self.triggered = 0

    async def run(self) -> None:
        next_frame = time.perf_counter()
        while True:
            start = time.perf_counter()
            await asyncio.sleep(TICK)
            self.stalls.append(time.perf_counter() - start - TICK)
            if time.perf_counter() >= next_frame:
                next_frame += 1 / DETECTOR_FPS
                self.triggered += 1
                jpeg = self.jpegs[self.triggered % len(self.jpegs)]
                self.trigger(Frame(jpeg, time.time(), 1_000_000 + self.triggered, 1280, 720))

    def summary(self) -> str:
        p99 = statistics.quantiles(self.stalls, n=100, method="inclusive")[98]
        return f"{max(self.stalls) * 1000:7.1f} ms ({p99 * 1000:5.1f})"


@dataclass
class Result:
    frames: int
    seconds: float
    meter: StallMeter

    def row(self) -> str:
        return f"{self.frames / self.seconds:9.1f}  {self.meter.summary()}"


async def measure(
    jpegs: list[bytes], trigger: Callable[[Frame], None], work: Awaitable[int]
) -> Result:
    meter = StallMeter(jpegs, trigger)
    ticking = asyncio.create_task(meter.run())
    start = time.perf_counter()
    frames = await work
    seconds = time.perf_counter() - start
    ticking.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await ticking
    return Result(frames, seconds, meter)


async def with_uploader(
    jpegs: list[bytes], frames: int, url: str, ca: Path, workdir: Path, concurrency: int
) -> Result:
    token = workdir / "token"
    token.write_text("benchmark")
    outbox = Outbox(Path(tempfile.mkdtemp(dir=workdir)))
    base = time.time()
    for seq in range(frames):  # a backlog, as after an outage
        outbox.put(cam="bench", jpeg=jpegs[seq % len(jpegs)], ts=base, seq=seq, change=50.0)
    uploader = Uploader(
        outbox, url, cam="bench", token=TokenSource(token), verify=str(ca), concurrency=concurrency
    )
    running = asyncio.create_task(uploader.run())

    async def drain() -> int:
        await uploader.join()
        return int(uploader.stats()["sent"])  # type: ignore[call-overload]

    result = await measure(jpegs, lambda frame: uploader.submit(frame, 50.0), drain())
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running
    return result


async def with_blocking_requests(jpegs: list[bytes], frames: int, url: str, ca: Path) -> Result:
    session = cpython_requests.Session()  # kinder than the docs' new connection per call
    fired: set[asyncio.Task[bool]] = set()

    async def archive_frame(jpeg: bytes, ts: float) -> bool:
        try:
            r = session.post(
                url,
                files={"image": (f"frame-{ts}.jpg", io.BytesIO(jpeg))},
                headers={"Authorization": "Bearer benchmark"},
                verify=str(ca),
                timeout=60,
            )
        except OSError:
            return False
        return r.status_code < 400

    def trigger(frame: Frame) -> None:  # what the docs' motion loop does
        fired.add(task := asyncio.create_task(archive_frame(frame.jpeg, frame.ts)))
        task.add_done_callback(fired.discard)

    async def backlog() -> int:
        for seq in range(frames):
            await archive_frame(jpegs[seq % len(jpegs)], time.time())
            await asyncio.sleep(0)  # yield between uploads: the meter gets every chance
        triggered = len(fired)
        await asyncio.gather(*fired)
        return frames + triggered

    try:
        return await measure(jpegs, trigger, backlog())
    finally:
        session.close()


async def idle(jpegs: list[bytes], seconds: float) -> Result:
    async def nothing() -> int:
        await asyncio.sleep(seconds)
        return 0

    return await measure(jpegs, lambda frame: None, nothing())


def best_of(runs: list[list[Result]]) -> list[Result]:
    """Per target, the round with the shortest longest stall: the least disturbed one."""
    return [min(column, key=lambda r: max(r.meter.stalls)) for column in zip(*runs, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=400, help="backlog for the local sink")
    parser.add_argument("--uplink-frames", type=int, default=40, help="backlog for the uplink")
    parser.add_argument("--mbps", type=float, default=20.0, help="uplink megabits per second")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3, help="report the best round of each")
    parser.add_argument("--dir", type=Path, default=None, help="outbox parent (default: tmp)")
    args = parser.parse_args()

    scene = SyntheticScene(seed=7, width=1280, height=720)
    jpegs = [scene.jpeg(i) for i in range(30)]
    size_kb = sum(map(len, jpegs)) / len(jpegs) / 1000
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        workdir = Path(tmp)
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1")
        ca_file, cert_file, key_file = workdir / "ca.pem", workdir / "cert.pem", workdir / "key.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        cert.private_key_and_cert_chain_pem.write_to_path(str(cert_file))
        cert.private_key_pem.write_to_path(str(key_file))
        fast_cmd = [sys.executable, str(HERE / "_sink.py"), str(cert_file), str(key_file)]
        slow_cmd = [sys.executable, __file__, "--uplink-sink", str(cert_file), str(key_file)]
        with server(fast_cmd) as fast, server([*slow_cmd, str(args.mbps)]) as slow:
            targets = ((args.frames, fast), (args.uplink_frames, slow))
            rounds: dict[str, list[list[Result]]] = {"uploader": [], "blocking": [], "idle": []}
            for _ in range(args.rounds):  # interleaved, so load from elsewhere hits all alike
                rounds["uploader"].append(
                    [
                        asyncio.run(
                            with_uploader(jpegs, n, url, ca_file, workdir, args.concurrency)
                        )
                        for n, url in targets
                    ]
                )
                rounds["blocking"].append(
                    [
                        asyncio.run(with_blocking_requests(jpegs, n, url, ca_file))
                        for n, url in targets
                    ]
                )
                # As long as the longest run of the round: a short window shows fewer spikes.
                window = max(r.seconds for r in rounds["uploader"][-1])
                rounds["idle"].append([asyncio.run(idle(jpegs, window))])
    results = {key: best_of(runs) for key, runs in rounds.items()}

    print(f"JPEG {size_kb:.0f} KB; the detector loop ticks every {TICK * 1000:.0f} ms and")
    print(f"triggers a frame at {DETECTOR_FPS:.0f} fps; stall = longest tick lateness (p99);")
    print(f"each figure is the best of {args.rounds} interleaved rounds (this machine is shared)\n")
    print(f"{'':50}{'local HTTPS sink':^30}{f'{args.mbps:g} Mbit/s uplink':^30}")
    print(f"{'':50}{'frames/s  longest stall':>30}{'frames/s  longest stall':>30}")
    alone = f"{'-':>9}  {results['idle'][0].meter.summary()}"
    print(f"{'the loop alone (this machine noise)':50}{alone:>30}")
    labels = {
        "uploader": f"Uploader (AsyncSession, {args.concurrency} in flight, fsync)",
        "blocking": "blocking CPython requests.post in a coroutine",
    }
    for key, label in labels.items():
        local, uplink = results[key]
        print(f"{label:50}{local.row():>30}{uplink.row():>30}")
    ratio = max(results["blocking"][1].meter.stalls) / max(results["uploader"][1].meter.stalls)
    print(f"\nover the uplink, the blocking pattern's longest stall is {ratio:.0f}x the Uploader's")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--uplink-sink"]:
        uplink_sink(*sys.argv[2:5])
    else:
        main()
