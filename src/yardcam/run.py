"""``yardcam run``: the whole box in one process and one event loop.

A frame source feeds the hub; the detector watches every frame and hands triggered ones to the
uploader, which stores them in the on-disk outbox and sends them to the archive in the
background. The cam's dashboard and, unless an external archive is configured, an embedded
archive node (file blobs + SQLite) are served over HTTPS with a self-signed certificate that the
uploader trusts explicitly (``verify=`` that certificate, the way a cam trusts a CA bundle copied
onto it). One login (the owner, created on first run) works on both.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from yardcam.archive import ArchiveSettings, create_token
from yardcam.archive import create_app as create_archive_app
from yardcam.camera import FrameHub, open_source
from yardcam.dashboard import CameraFeed, DashboardSettings, create_app
from yardcam.durable import write_atomic
from yardcam.motion import MotionDetector
from yardcam.outbox import Outbox, TokenSource, Uploader
from yardcam.web import (
    Accounts,
    Server,
    WebSettings,
    create_first_user,
    ensure_secret_key,
    ensure_self_signed_cert,
    raise_open_file_limit,
)

log = logging.getLogger("yardcam")


@dataclass(frozen=True, slots=True)
class RunOptions:
    """What ``yardcam run`` is told on the command line (see ``yardcam run --help``)."""

    data_dir: Path
    source: str = "synthetic"
    fps: float = 10.0
    cam: str = "yard"
    host: str = "127.0.0.1"
    port: int = 8443
    archive_port: int = 8444
    archive_url: str | None = None  # an external archive's POST /frames URL
    token_file: Path | None = None  # its upload token (re-read on rotation)
    ca_bundle: Path | None = None  # to verify the external archive; None: system trust store
    threshold: float = 12.0
    cors_origins: tuple[str, ...] = ()  # web pages elsewhere allowed to call the cam's API


def run(options: RunOptions) -> int:
    """Run until SIGINT/SIGTERM; returns the process exit status."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    return asyncio.run(_main(options))


async def _main(options: RunOptions) -> int:
    try:  # what the user typed is checked before anything is created or served
        if options.archive_url is not None and options.token_file is None:
            raise ValueError("--archive-url needs --token-file (the archive's upload token)")
        source = open_source(options.source, fps=options.fps)
        detector = MotionDetector(threshold=options.threshold)
    except ValueError as exc:
        print(f"yardcam run: {exc}", file=sys.stderr)
        return 2
    embedded = options.archive_url is None
    data = options.data_dir.resolve()
    raise_open_file_limit()  # web clients, frames and the index share one descriptor table
    try:  # before the first-run login is made: it is shown once, in the banner
        _lock_data_dir(data)
        cam_socket = _listen(options.host, options.port)
        archive_socket = _listen(options.host, options.archive_port) if embedded else None
    except _CannotStart as exc:
        print(f"yardcam run: {exc}", file=sys.stderr)
        return 2
    cam_dir = data / "cam"
    cam_dir.mkdir(parents=True, exist_ok=True)
    cert, key = ensure_self_signed_cert(data / "tls")
    users_file = data / "users.json"
    accounts = Accounts(users_file)
    password = create_first_user(accounts)

    servers: list[tuple[Server, socket.socket]] = []
    if archive_socket is not None:
        archive_settings = ArchiveSettings.for_data_dir(data / "archive", accounts_file=users_file)
        token_file = cam_dir / "archive-token"
        if not token_file.exists():
            token = await create_token(archive_settings, options.cam, "upload")
            write_atomic(token_file, token.encode())
            log.info("created the embedded archive's upload token for cam %r", options.cam)
        archive_url = f"https://127.0.0.1:{options.archive_port}/frames"
        verify: bool | str = str(cert)
        archive_app = create_archive_app(archive_settings)
        servers.append((_server(archive_app, "archive", cert, key), archive_socket))
    else:
        assert options.archive_url and options.token_file  # checked with the other input above
        archive_url, token_file = options.archive_url, options.token_file
        verify = str(options.ca_bundle) if options.ca_bundle else True

    hub = FrameHub()
    uploader = Uploader(
        Outbox(cam_dir / "outbox"),
        archive_url,
        cam=options.cam,
        token=TokenSource(token_file),
        verify=verify,
        trust_env=not embedded,  # the embedded archive is this box: no proxy can reach it
    )
    detector.subscribe(uploader.submit)
    cam_settings = DashboardSettings(
        web=WebSettings(
            secret_key=ensure_secret_key(cam_dir / "secret"),
            cookie_name="yardcam_cam",
            cors_origins=options.cors_origins,
        ),
        accounts=accounts,
        data_dir=data,
        name=f"yardcam · {options.cam}",
        gallery_url=f"https://localhost:{options.archive_port}/" if embedded else None,
    )
    cam_app = create_app(
        [CameraFeed(options.cam, hub, detector, uploader.stats)],
        cam_settings,
        tasks=[
            lambda: hub.run(source),
            lambda: detector.run(hub),
            uploader.run,
            lambda: _report(hub, detector, uploader),
        ],
    )
    servers.insert(0, (_server(cam_app, "dashboard", cert, key), cam_socket))

    _announce(options, archive_url, password, data)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, _stop, [server for server, _ in servers])
    await asyncio.gather(*(server.serve(sockets=[sock]) for server, sock in servers))
    return 0


class _CannotStart(OSError):
    """Something else holds what this run needs; the message says what to do."""


class _PortBusy(_CannotStart):
    pass


def _lock_data_dir(data: Path) -> None:
    """Hold ``DATA/yardcam.lock`` until the process exits (the kernel lets go even on kill -9).

    Two runs on one data directory would send every queued frame twice and race to delete it.
    """
    data.mkdir(parents=True, exist_ok=True)
    fd = os.open(data / "yardcam.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode("ascii", "replace").strip() or "?"
        os.close(fd)
        raise _CannotStart(
            f"{data} is in use by another yardcam run (pid {holder}); stop that one first, "
            "or give this one its own --data-dir"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())


def _listen(host: str, port: int) -> socket.socket:
    """Bind before announcing anything, so a taken port is one clear line, not a traceback."""
    try:
        return socket.create_server((host, port))
    except OSError as exc:
        raise _PortBusy(
            f"cannot listen on {host}:{port} ({os.strerror(exc.errno or 0)}); is another "
            "yardcam running? Stop it, or pick other ports with --port / --archive-port."
        ) from exc


async def _report(
    hub: FrameHub, detector: MotionDetector, uploader: Uploader, every: float = 30.0
) -> None:
    """A status line on the terminal now and then: the box is alive and where frames stand."""
    while True:
        await asyncio.sleep(every)
        stats = uploader.stats()
        log.info(
            "source %s; %d frames, %d triggers; archive %s: %s sent, %s pending, %s dead%s",
            hub.state,
            detector.frame_count,
            detector.trigger_count,
            stats["state"],
            stats["sent"],
            stats["pending"],
            stats["dead_lettered"],
            f"; last error: {stats['last_error']}" if stats["last_error"] else "",
        )


def _server(app: object, name: str, cert: Path, key: Path) -> Server:
    """A server for a socket bound beforehand (see :func:`_listen`); :func:`run` handles the
    signals and stops all servers together."""
    return Server(app, name=name, tls=(cert, key), handle_signals=False)


def _stop(servers: list[Server]) -> None:
    for server in servers:
        if server.should_exit:
            server.force_exit = True
        server.should_exit = True


def _announce(options: RunOptions, archive_url: str, password: str | None, data: Path) -> None:
    where = "localhost" if options.host in ("127.0.0.1", "::1") else options.host
    lines = [
        f"yardcam: camera '{options.cam}' from {options.source} at {options.fps:g} fps",
        f"  dashboard  https://{where}:{options.port}/",
        f"  archive    {archive_url}",
    ]
    if options.archive_url is None:
        lines.append(f"  gallery    https://{where}:{options.archive_port}/")
    change = f"yardcam user set owner --data-dir {data}"
    if password is not None:
        lines.append(f"  login      owner / {password}   (shown once; change it: '{change}')")
    else:
        lines.append(f"  login      your existing account (forgot it? '{change}')")
    lines.append("  The certificate is self-signed: your browser will ask you to accept it once.")
    lines.append("  Ctrl-C stops everything; triggered frames not yet archived wait in the outbox.")
    print("\n".join(lines), flush=True)
