"""Run a real uvicorn server for an ASGI app on 127.0.0.1, port 0, in a background thread; or
``yardcam run`` itself in a subprocess (:func:`start_yardcam_run`).

Tests import :func:`serve` directly, or use the ``serve_app`` fixture from ``conftest.py``.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn


@dataclass(frozen=True)
class TLSFiles:
    """A trustme CA and a server certificate for 127.0.0.1/localhost, written to disk."""

    ca_pem: Path
    cert_pem: Path
    key_pem: Path


@dataclass
class Running:
    """A server that is accepting connections; ``url`` has no trailing slash."""

    url: str
    port: int
    server: uvicorn.Server


@contextlib.contextmanager
def serve(
    app: object,
    tls: TLSFiles | None = None,
    *,
    host: str = "127.0.0.1",
    sock: socket.socket | None = None,
    **config: object,
) -> Iterator[Running]:
    """Serve ``app`` until the block exits; polls for readiness, never sleeps blind.

    ``sock``: a socket bound beforehand (by :func:`refusing_socket`, say) to serve on, instead
    of a fresh port 0.
    """
    kwargs: dict[str, object] = {
        "host": host,
        "port": 0,
        "log_level": "warning",
        "lifespan": "auto",
        **config,
    }
    if tls is not None:
        kwargs.update(ssl_certfile=str(tls.cert_pem), ssl_keyfile=str(tls.key_pem))
    server = uvicorn.Server(uvicorn.Config(app, **kwargs))  # type: ignore[arg-type]
    thread = threading.Thread(
        target=server.run, args=([sock] if sock else None,), name="uvicorn-test", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    scheme = "https" if tls else "http"
    try:
        yield Running(url=f"{scheme}://{host}:{port}", port=port, server=server)
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def refusing_socket() -> socket.socket:
    """A port bound on 127.0.0.1 but not listening: connecting is refused (ECONNREFUSED) until
    it is served with ``serve(app, sock=...)``, and no other process can take it meanwhile."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


def banner_ports(banner: str) -> tuple[int, int | None]:
    """The dashboard's and the embedded archive's ports from ``yardcam run``'s banner (started
    with ``--port 0 --archive-port 0``: the kernel picks, the banner says what was bound)."""
    dashboard = re.search(r"^  dashboard  https://[^:/]+:(\d+)/", banner, re.M)
    gallery = re.search(r"^  gallery    https://[^:/]+:(\d+)/", banner, re.M)
    assert dashboard, f"no dashboard line in the banner:\n{banner}"
    return int(dashboard.group(1)), int(gallery.group(1)) if gallery else None


def start_yardcam_run(
    args: list[str],
    log: Path,
    *,
    env: dict[str, str] | None = None,
    preexec_fn: Callable[[], None] | None = None,
    timeout: float = 30,
) -> tuple[subprocess.Popen[bytes], str]:
    """``yardcam run ARGS`` in a subprocess, returned with its banner once the banner is out.

    Output goes to ``log``, not a pipe nobody drains, so a chatty process never blocks; a run
    that exits or prints no banner within ``timeout`` fails the test with what it printed.
    """
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "yardcam", "run", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            preexec_fn=preexec_fn,
        )
    deadline = time.monotonic() + timeout
    while "Ctrl-C" not in (text := log.read_text()):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise AssertionError(f"yardcam run {' '.join(args)}: no banner\n{log.read_text()}")
        time.sleep(0.05)
    return proc, text
