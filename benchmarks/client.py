"""Camera-frame upload throughput and memory: yardcam.requests against its peers, in one run.

Usage: ``.venv/bin/python benchmarks/client.py [--uploads N] [--rounds R] [--concurrency C]``

Starts ``_sink.py`` (a fast keep-alive sink, HTTP and HTTPS with trustme certificates) in its
own process, then uploads ~200 KB JPEGs as multipart (the archive's wire format: fields ``cam``,
``ts``, ``seq``, ``change`` and the file part ``image``, a bearer header and an Idempotency-Key)
over reused connections, and prints frames/s, MB/s and client CPU per upload (process CPU time,
all threads, divided by uploads) for:

- yardcam ``Session`` vs ``requests.Session`` (one upload at a time),
- yardcam ``AsyncSession`` vs ``httpx.AsyncClient`` vs ``aiohttp`` (C uploads in flight),

over HTTP and HTTPS, each the best of R interleaved rounds, with ratios. A first row writes one
pre-encoded upload again and again on a bare socket: the fastest any one-at-a-time client could
go against this sink, so the sink is shown not to be the bottleneck. Then the peak RSS growth
of a 200 MB ``files=`` upload through yardcam (Session and AsyncSession) and through requests,
each in a fresh interpreter.

Targets (issue 2): yardcam async >= aiohttp; yardcam sync >= 1.5x requests. On a shared box
frames/s swings with the scheduler; CPU per upload is the steadier figure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import platform
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import httpx
import numpy as np
import simplejpeg
import trustme

import requests
from _sink import RESPONSE
from yardcam import requests as yardcam

HERE = Path(__file__).resolve().parent
WARMUP = 20
BIG_UPLOAD = 200 * 1024 * 1024


@dataclass(frozen=True)
class Target:
    url: str
    ca_file: str
    ssl_context: ssl.SSLContext


@dataclass(frozen=True)
class Sample:
    uploads: int
    seconds: float
    cpu: float
    payload: int  # JPEG bytes sent, for MB/s

    @property
    def fps(self) -> float:
        return self.uploads / self.seconds

    @property
    def mb_per_s(self) -> float:
        return self.payload / self.seconds / 1e6

    @property
    def cpu_ms(self) -> float:
        return self.cpu / self.uploads * 1000


def make_frames(count: int = 8) -> list[bytes]:
    """720p JPEGs of a gradient plus sensor-like noise: ~200 KB, like a busy yard frame."""
    rng = np.random.default_rng(2)
    y = np.linspace(0, 255, 720)[:, None, None]
    x = np.linspace(0, 255, 1280)[None, :, None]
    base = (0.5 * y + 0.5 * x) * np.ones((1, 1, 3))
    return [
        simplejpeg.encode_jpeg(
            np.clip(base + rng.normal(0, 9, (*base.shape[:2], 3)), 0, 255).astype(np.uint8),
            quality=80,
        )
        for _ in range(count)
    ]


FRAMES = make_frames()


def frame(i: int) -> bytes:
    return FRAMES[i % len(FRAMES)]


def fields(i: int) -> dict[str, str]:
    return {"cam": "bench", "ts": f"{1_700_000_000 + i / 10:.1f}", "seq": str(i), "change": "14.2"}


def headers(i: int) -> dict[str, str]:
    return {"Authorization": "Bearer bench-token", "Idempotency-Key": f"bench-{i}"}


def files(i: int) -> dict[str, tuple[str, io.BytesIO, str]]:
    return {"image": (f"frame-{i}.jpg", io.BytesIO(frame(i)), "image/jpeg")}


def check(status: int) -> None:
    if status != 201:
        raise RuntimeError(f"the sink answered {status}")


def payload(start: int, uploads: int) -> int:
    return sum(len(frame(i)) for i in range(start, start + uploads))


def time_sync(post: Callable[[int], None], uploads: int) -> Sample:
    for i in range(WARMUP):
        post(i)
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(WARMUP, WARMUP + uploads):
        post(i)
    return Sample(
        uploads, time.perf_counter() - t0, time.process_time() - c0, payload(WARMUP, uploads)
    )


async def time_async(
    post: Callable[[int], Awaitable[None]], uploads: int, concurrency: int
) -> Sample:
    async def burst(indexes: Iterator[int]) -> None:
        async def worker() -> None:
            for i in indexes:  # one iterator shared by all workers: each index runs once
                await post(i)

        await asyncio.gather(*(worker() for _ in range(concurrency)))

    await burst(iter(range(WARMUP)))  # opens the pool's connections
    t0, c0 = time.perf_counter(), time.process_time()
    await burst(iter(range(WARMUP, WARMUP + uploads)))
    return Sample(
        uploads, time.perf_counter() - t0, time.process_time() - c0, payload(WARMUP, uploads)
    )


def sync_client(module: object) -> Callable[[Target, int, int], Sample]:
    """The benchmark for a requests-compatible module: yardcam.requests or requests itself."""

    def bench(target: Target, uploads: int, _: int) -> Sample:
        with module.Session() as session:  # type: ignore[attr-defined]

            def post(i: int) -> None:
                r = session.post(
                    target.url,
                    data=fields(i),
                    files=files(i),
                    headers=headers(i),
                    verify=target.ca_file,
                )
                check(r.status_code)

            return time_sync(post, uploads)

    return bench


async def yardcam_async(target: Target, uploads: int, concurrency: int) -> Sample:
    async with yardcam.AsyncSession() as session:

        async def post(i: int) -> None:
            r = await session.post(
                target.url,
                data=fields(i),
                files=files(i),
                headers=headers(i),
                verify=target.ca_file,
            )
            check(r.status_code)

        return await time_async(post, uploads, concurrency)


async def httpx_async(target: Target, uploads: int, concurrency: int) -> Sample:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(verify=target.ssl_context, limits=limits) as client:

        async def post(i: int) -> None:
            r = await client.post(target.url, data=fields(i), files=files(i), headers=headers(i))
            check(r.status_code)

        return await time_async(post, uploads, concurrency)


async def aiohttp_async(target: Target, uploads: int, concurrency: int) -> Sample:
    connector = aiohttp.TCPConnector(limit=concurrency, ssl=target.ssl_context)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def post(i: int) -> None:
            form = aiohttp.FormData(fields(i))
            # bytes, not BytesIO: aiohttp reads file-likes through a thread pool, which is
            # slower for it, and the peer should be measured at its best.
            form.add_field("image", frame(i), filename=f"frame-{i}.jpg", content_type="image/jpeg")
            async with session.post(target.url, data=form, headers=headers(i)) as r:
                await r.read()
                check(r.status)

        return await time_async(post, uploads, concurrency)


def raw_socket(target: Target, uploads: int, _: int) -> Sample:
    """One pre-encoded upload rewritten on a bare socket: no client work at all."""
    prepared = requests.Request(
        "POST", target.url, data=fields(0), files=files(0), headers=headers(0)
    ).prepare()
    assert isinstance(prepared.body, bytes)
    url = urlsplit(target.url)
    head = f"POST {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in prepared.headers.items()
    )
    upload = head.encode() + b"\r\n" + prepared.body
    sock = socket.create_connection((url.hostname, url.port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if url.scheme == "https":
        sock = target.ssl_context.wrap_socket(sock, server_hostname=url.hostname)

    def post(_: int) -> None:
        sock.sendall(upload)
        answer = b""
        while len(answer) < len(RESPONSE):
            answer += sock.recv(65536)
        check(int(answer.split(b" ", 2)[1]))

    with sock:
        return time_sync(post, uploads)


# Each group: the first entry is what the others are compared with.
GROUPS: list[list[tuple[str, Callable[..., object]]]] = [
    [("bare socket (no client)", raw_socket)],
    [
        ("yardcam Session", sync_client(yardcam)),
        ("requests.Session", sync_client(requests)),
    ],
    [
        ("yardcam AsyncSession", yardcam_async),
        ("httpx.AsyncClient", httpx_async),
        ("aiohttp", aiohttp_async),
    ],
]


TARGETS = [
    ("yardcam Session", "requests.Session", 1.5),
    ("yardcam AsyncSession", "aiohttp", 1.0),
]


def run(client: Callable[..., object], target: Target, uploads: int, concurrency: int) -> Sample:
    result = client(target, uploads, concurrency)
    if asyncio.iscoroutine(result):
        result = asyncio.run(result)
    assert isinstance(result, Sample)
    return result


@contextlib.contextmanager
def sink(workdir: Path) -> Iterator[tuple[int, int, Path]]:
    """Start ``_sink.py`` with fresh trustme certificates; yields (http port, https port, CA)."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_file, cert_file, key_file = workdir / "ca.pem", workdir / "cert.pem", workdir / "key.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    process = subprocess.Popen(
        [sys.executable, str(HERE / "_sink.py"), str(cert_file), str(key_file)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        ready = process.stdout.readline().split()  # blocks until both ports accept
        if ready[:1] != ["READY"]:
            raise RuntimeError("the sink did not start")
        yield int(ready[1]), int(ready[2]), ca_file
    finally:
        process.stdin.close()
        process.wait(timeout=10)


def throughput(
    ports: tuple[int, int], ca_file: Path, args: argparse.Namespace
) -> dict[tuple[str, str], Sample]:
    """Print the table; return the best sample per (scheme, client label)."""
    context = ssl.create_default_context(cafile=str(ca_file))
    print(
        f"\n{args.uploads} uploads per run, best of {args.rounds}; async: {args.concurrency} "
        f"in flight; JPEG {sum(map(len, FRAMES)) / len(FRAMES) / 1000:.0f} KB average"
    )
    print(f"{'':6}{'client':26}{'frames/s':>9}{'MB/s':>8}{'CPU ms/upload':>15}   ratios")
    results: dict[tuple[str, str], Sample] = {}
    for scheme, port in zip(("http", "https"), ports, strict=True):
        target = Target(f"{scheme}://127.0.0.1:{port}/frames", str(ca_file), context)
        for clients in GROUPS:
            best: dict[str, Sample] = {}
            for _ in range(args.rounds):  # interleaved, so a busy spell hits every client
                for label, client in clients:
                    sample = run(client, target, args.uploads, args.concurrency)
                    if label not in best or sample.fps > best[label].fps:
                        best[label] = sample
            ours = next(iter(best.values()))
            for label, sample in best.items():
                results[scheme, label] = sample
                ratio = "" if sample is ours else ratios(ours, sample)
                print(
                    f"{scheme.upper():6}{label:26}{sample.fps:>9.0f}{sample.mb_per_s:>8.1f}"
                    f"{sample.cpu_ms:>15.3f}   {ratio}"
                )
    return results


def ratios(ours: Sample, peer: Sample) -> str:
    return f"yardcam x{ours.fps / peer.fps:.2f} frames/s, x{peer.cpu_ms / ours.cpu_ms:.2f} less CPU"


def targets(results: dict[tuple[str, str], Sample]) -> None:
    print("\nTargets (issue 2)")
    for scheme in ("http", "https"):
        for ours, peer, goal in TARGETS:
            fps = results[scheme, ours].fps / results[scheme, peer].fps
            verdict = "met" if fps >= goal else "MISSED"
            print(
                f"  {scheme.upper():6}{ours} >= {goal}x {peer}: "
                f"{ratios(results[scheme, ours], results[scheme, peer])} -> {verdict}"
            )


def memory(port: int, workdir: Path) -> None:
    big = workdir / "clip.bin"
    block = os.urandom(1024 * 1024)
    with big.open("wb") as f:
        for _ in range(BIG_UPLOAD // len(block)):
            f.write(block)
    print(f"\nPeak RSS growth for one {BIG_UPLOAD // 2**20} MB files= upload (fresh interpreter)")
    for client in ("yardcam", "yardcam-async", "requests"):
        out = subprocess.run(
            [sys.executable, str(HERE / "upload_rss.py"), client, f"http://127.0.0.1:{port}/", big],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        result = json.loads(out)
        check(result["status"])
        print(f"  {client:14} {result['growth'] / 2**20:8.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=400, help="uploads per measured run")
    parser.add_argument("--rounds", type=int, default=5, help="runs per client; best is kept")
    parser.add_argument("--concurrency", type=int, default=8, help="async uploads in flight")
    args = parser.parse_args()
    print(
        f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; "
        f"yardcam vs requests {requests.__version__}, httpx {httpx.__version__}, "
        f"aiohttp {aiohttp.__version__}"
    )
    with tempfile.TemporaryDirectory() as tmp, sink(Path(tmp)) as (http, https, ca_file):
        targets(throughput((http, https), ca_file, args))
        memory(http, Path(tmp))


if __name__ == "__main__":
    main()
