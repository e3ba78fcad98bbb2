"""What viewers cost the cam: 20 MJPEG viewers at 15 fps and 20 SSE clients on one camera.

Usage: ``.venv/bin/python benchmarks/viewers.py [--seconds S] [--rounds R] [--size WxH]``

The cam app (the synthetic yard, rendered once and replayed at 15 fps so that rendering costs
nothing during the measurement; the real detector; the server ``yardcam run`` uses over TLS; an
API token for the clients) runs in a child process; this process drives the clients on one
asyncio loop. For each phase (no clients; 20 MJPEG viewers asking ``?fps=15``; the same plus 20
``/events`` clients) it prints the server's CPU (share of one core, from the child's CPU time),
the CPU each viewer and each SSE client adds, the frames each viewer got per second, and two
views of the cam loop's stalls (the loop where the detector and every stream run), both from a
ticker task on that loop that sleeps 1 ms:

* **lateness**: how late the ticker wakes (max and p99). It counts everything that kept the
  loop from running: its own work, and the time the OS gave other threads and processes.
* **loop CPU per tick**: the CPU time the loop's thread spent between two wake-ups of the
  ticker (``time.thread_time``; max and p99): only the loop's own work, which is what yardcam
  can fix. Target: the longest stall < 5 ms.

Every figure is the best of R interleaved rounds, each column on its own: the build box is
shared, and a neighbour's burst of work shows up as a stall that says nothing about yardcam.
Treat absolute figures as noisy; the per-viewer CPU comes from differences measured in the
same round.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import json
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import psutil

VIEWERS = 20
SSE_CLIENTS = 20
FPS = 15
TICK = 0.001


# -- the child: the cam app with a loop probe ------------------------------------------------


def serve(data_dir: Path, port_file: Path, ticks_file: Path, width: int, height: int) -> None:
    import secrets
    import socket

    import trustme

    from yardcam.camera import Frame, FrameHub, SyntheticScene
    from yardcam.dashboard import CameraFeed, DashboardSettings, create_api_token, create_app
    from yardcam.motion import MotionDetector
    from yardcam.web import Accounts, Server, WebSettings

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert_file, key_file, ca_file = data_dir / "cert.pem", data_dir / "key.pem", data_dir / "ca.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    ca.cert_pem.write_to_path(str(ca_file))
    token = create_api_token(data_dir, "bench", "read")

    hub, detector = FrameHub(), MotionDetector()
    scene = SyntheticScene(width=width, height=height, fps=FPS)
    rendered = [scene.jpeg(i) for i in range(2 * FPS)]

    class Replay:
        async def frames(self) -> AsyncIterator[Frame]:
            start = time.monotonic()
            for seq in itertools.count():
                await asyncio.sleep(max(0.0, start + seq / FPS - time.monotonic()))
                yield Frame(rendered[seq % len(rendered)], time.time(), seq, width, height)

    source = Replay()
    ticks: list[tuple[float, float, float, float]] = []  # (when, late, CPU, run queue), seconds
    iterations: list[tuple[float, float]] = []  # (when, loop CPU) of the longer ones, seconds

    def waited_for_a_core() -> float:
        """Seconds this thread has been runnable but not running, as the scheduler counts them
        (0 where /proc does not say): the time neighbours took from it."""
        try:
            with open("/proc/thread-self/schedstat", "rb") as stats:
                return int(stats.read().split()[1]) / 1e9
        except (OSError, IndexError, ValueError):
            return 0.0

    async def probe() -> None:
        loop = asyncio.get_running_loop()
        run_once = loop._run_once  # type: ignore[attr-defined]

        def timed_run_once() -> None:  # one iteration: poll, then every callback ready
            cpu = time.thread_time()
            run_once()
            if (spent := time.thread_time() - cpu) > 1e-4:
                iterations.append((time.time(), spent))

        loop._run_once = timed_run_once  # type: ignore[attr-defined]
        while True:
            start, cpu, queued = loop.time(), time.thread_time(), waited_for_a_core()
            await asyncio.sleep(TICK)
            late, cpu = loop.time() - start - TICK, time.thread_time() - cpu
            ticks.append((time.time(), late, cpu, waited_for_a_core() - queued))

    settings = DashboardSettings(
        web=WebSettings(secret_key=secrets.token_urlsafe(32), cookie_name="bench"),
        accounts=Accounts(),
        data_dir=data_dir,
        preview_fps=FPS,
    )
    feed = CameraFeed("bench", hub, detector)
    app = create_app(
        [feed], settings, tasks=[lambda: hub.run(source), lambda: detector.run(hub), probe]
    )
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    port_file.write_text(json.dumps({"port": port, "token": token, "ca": str(ca_file)}))
    try:
        asyncio.run(Server(app, name="bench", tls=(cert_file, key_file)).serve([sock]))
    finally:
        ticks_file.write_text(json.dumps({"ticks": ticks, "iterations": iterations}))
        ticks.clear()  # the probe's records are no part of the cam's heap
        iterations.clear()
        cpu = time.thread_time()
        gc.collect()  # what a full collection costs the loop thread now
        ticks_file.with_suffix(".gc").write_text(str(time.thread_time() - cpu))


# -- the parent: clients and measurements ------------------------------------------------------


@dataclass
class Phase:
    """One phase of one round; times in ms."""

    cpu: float  # the server's, share of one core
    fps_per_viewer: float | None
    max_late: float
    p99_late: float
    max_busy: float  # the loop thread's CPU between two ticks
    p99_busy: float
    max_iteration: float  # the loop thread's CPU in one loop iteration
    latest: tuple[float, float, float]  # the latest tick: lateness, loop CPU, run-queue wait
    connecting: float  # the loop thread's CPU in its longest iteration while clients connect


def _p99(values: list[float]) -> float:
    return values[max(int(len(values) * 0.99) - 1, 0)]


async def _client(
    port: int, context: ssl.SSLContext, path: str, token: str, counts: list[int], i: int
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
    )
    await writer.drain()
    tail = b""
    try:
        while chunk := await reader.read(65536):
            data = tail + chunk
            counts[i] += data.count(b"--frame\r\n")
            tail = data[-16:]
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()


async def _phase(
    name: str,
    info: dict[str, str | int],
    child: psutil.Process,
    seconds: float,
    viewers: int,
    sse: int,
) -> tuple[str, float, float, float, float, list[int]]:
    context = ssl.create_default_context(cafile=str(info["ca"]))
    connecting = time.time()
    counts = [0] * viewers
    port, token = int(info["port"]), str(info["token"])
    tasks = [
        asyncio.create_task(_client(port, context, f"/stream.jpg?fps={FPS}", token, counts, i))
        for i in range(viewers)
    ] + [
        asyncio.create_task(_client(port, context, "/events", token, [0] * sse, i))
        for i in range(sse)
    ]
    await asyncio.sleep(1.0)  # connections up, TLS done: measure the steady state
    start_counts = list(counts)
    me = psutil.Process()
    cpu0, mine0, t0 = sum(child.cpu_times()[:2]), sum(me.cpu_times()[:2]), time.time()
    await asyncio.sleep(seconds)
    cpu1, mine1, t1 = sum(child.cpu_times()[:2]), sum(me.cpu_times()[:2]), time.time()
    print(f"  {name}: the clients' own CPU {(mine1 - mine0) / (t1 - t0) * 100:.0f}% of a core")
    got = [c - s for c, s in zip(counts, start_counts, strict=True)]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.sleep(0.5)
    return name, (cpu1 - cpu0) / (t1 - t0), connecting, t0, t1, got


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    if args.serve:
        data, port_file, ticks_file = (Path(p) for p in args.serve)
        serve(data, port_file, ticks_file, width, height)
        return

    plan = [("idle", 0, 0), (f"{VIEWERS} MJPEG", VIEWERS, 0)]
    plan.append((f"{VIEWERS} MJPEG + {SSE_CLIENTS} SSE", VIEWERS, SSE_CLIENTS))
    with tempfile.TemporaryDirectory() as tmp:
        data, port_file, ticks_file = Path(tmp), Path(tmp) / "port", Path(tmp) / "ticks"
        command = [sys.executable, __file__, "--size", args.size, "--serve"]
        child = subprocess.Popen([*command, str(data), str(port_file), str(ticks_file)])
        try:
            deadline = time.monotonic() + 60
            while not port_file.exists():
                if child.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the cam did not start")
                time.sleep(0.05)
            info = json.loads(port_file.read_text())
            proc = psutil.Process(child.pid)
            time.sleep(2.0)  # the detector's background model settles
            windows = []
            for _ in range(args.rounds):
                for name, viewers, sse in plan:
                    windows.append(
                        asyncio.run(_phase(name, info, proc, args.seconds, viewers, sse))
                    )
        finally:
            child.send_signal(signal.SIGINT)
            child.wait(timeout=30)
        probed = json.loads(ticks_file.read_text())
        full_gc = float(ticks_file.with_suffix(".gc").read_text())
    rounds: list[dict[str, Phase]] = [{} for _ in range(args.rounds)]
    for i, (name, cpu, connecting, t0, t1, got) in enumerate(windows):
        inside = [[v * 1e3 for v in tick[1:]] for tick in probed["ticks"] if t0 <= tick[0] <= t1]
        late = sorted(late for late, _, _ in inside) or [0.0]
        busy = sorted(busy for _, busy, _ in inside) or [0.0]
        longest = max((s * 1e3 for ts, s in probed["iterations"] if t0 <= ts <= t1), default=0)
        handshakes = (s * 1e3 for ts, s in probed["iterations"] if connecting <= ts < t0)
        latest = max(inside, default=[0.0, 0.0, 0.0])
        fps = sum(got) / len(got) / (t1 - t0) if got else None
        phase = Phase(
            cpu,
            fps,
            late[-1],
            _p99(late),
            busy[-1],
            _p99(busy),
            longest,
            tuple(latest),
            max(handshakes, default=0),
        )
        rounds[i // len(plan)][name] = phase

    def best(name: str, column: str) -> float:
        return min(getattr(r[name], column) for r in rounds)

    load = " ".join(f"{v:.1f}" for v in os.getloadavg())
    print(
        f"\ncam: synthetic {args.size} at {FPS} fps, detector on; each column the best of "
        f"{args.rounds} rounds; load average {load} at the end"
    )
    print(f"{'':<18} server fps per     lateness   loop CPU/tick   longest   latest tick: CPU,")
    print(
        f"{'phase':<18}    CPU  viewer    max   p99     max   p99  iteration   waiting for a core"
    )
    for name, _, _ in plan:
        fps = rounds[0][name].fps_per_viewer
        fps_text = f"{max(r[name].fps_per_viewer or 0 for r in rounds):.1f}" if fps else "-"
        late, busy, queued = min((r[name].latest for r in rounds), key=lambda t: t[0])
        print(
            f"{name:<18} {best(name, 'cpu') * 100:>5.1f}% {fps_text:>7} "
            f"{best(name, 'max_late'):>6.2f} {best(name, 'p99_late'):>5.2f}  "
            f"{best(name, 'max_busy'):>6.2f} {best(name, 'p99_busy'):>5.2f}  "
            f"{best(name, 'max_iteration'):>9.2f}   {late:.2f}: {busy:.2f}, {queued:.2f}"
        )
    print("(ms; lateness: of a 1 ms ticker; loop CPU: the loop thread's, between two ticks and in")
    print(" its longest iteration: poll, then every callback ready; the latest tick of the best")
    print(" round, the loop's CPU in it and how long the OS kept the loop thread waiting to run)")
    idle, mjpeg, both = (name for name, _, _ in plan)
    per_viewer = sorted((r[mjpeg].cpu - r[idle].cpu) / VIEWERS * 100 for r in rounds)
    per_sse = sorted((r[both].cpu - r[mjpeg].cpu) / SSE_CLIENTS * 100 for r in rounds)
    print(f"CPU per MJPEG viewer: {per_viewer[0]:.2f} to {per_viewer[-1]:.2f} % of a core (rounds)")
    print(f"CPU per SSE client:   {per_sse[0]:.2f} to {per_sse[-1]:.2f} % of a core (rounds)")
    stalls = (
        ("max_late", "lateness"),
        ("max_busy", "loop CPU in one tick"),
        ("max_iteration", "loop CPU in one iteration"),
    )
    for column, what in stalls:
        worst = best(both, column)
        verdict = "met" if worst < 5 else "NOT met"
        print(f"longest stall with every client, {what}: {worst:.2f} ms (< 5 ms: {verdict})")
    print(
        f"while all {VIEWERS + SSE_CLIENTS} clients connect at once (the second before the "
        f"window, not measured above): longest iteration {best(both, 'connecting'):.2f} ms"
    )
    print(f"a full garbage collection in the cam at the end: {full_gc * 1e3:.2f} ms of CPU")
    print("(a shared box: figures are noisy; compare the rows of one run, not runs)")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
    main()
