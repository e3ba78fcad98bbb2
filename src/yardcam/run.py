"""``yardcam run``: the whole box in one process and one event loop.

Each configured camera has its own frame hub and detector; every detector hands triggered frames
to one shared uploader, which stores them in the on-disk outbox and sends them to the archive in
the background, one camera at a time in turn. The cam's dashboard and, unless an external
archive is configured, an embedded archive node (file blobs + SQLite) are served over HTTPS with
a self-signed certificate that the uploader trusts explicitly (``verify=`` that certificate, the
way a cam trusts a CA bundle copied onto it). One login (the owner, created on first run) works
on both.

Stopping (SIGTERM from systemd, SIGINT from Ctrl-C), in this order, within ``stop_timeout``:

1. intake stops: sources and detectors are cancelled, so nothing new is accepted;
2. the uploader writes every frame it accepted to the outbox, gives uploads in flight what is
   left of the bound, and leaves the rest pending (sent on the next start, exactly once thanks
   to the ``Idempotency-Key``);
3. the web servers stop; the process exits 0.

A second signal forces: the process exits at once with status 1 (frames not yet on disk are
lost, and the log says how many).
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import fcntl
import functools
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yardcam.archive import ArchiveSettings, create_token
from yardcam.archive import create_app as create_archive_app
from yardcam.camera import FrameHub, FrameSource, InvalidSource, open_source
from yardcam.config import (
    CamConfig,
    CameraConfig,
    ConfigError,
    ServingConfig,
    redact_url,
)
from yardcam.dashboard import CameraFeed, DashboardSettings, create_app
from yardcam.durable import write_atomic
from yardcam.logs import configure_logging
from yardcam.motion import ArchivePolicy, MotionDetector, parse_zone
from yardcam.outbox import AUTO, FullPolicy, Outbox, TokenSource, Uploader
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

FIRST_LOGIN_FILE = "first-login.txt"


@dataclass(slots=True)
class Camera:
    """One configured camera at run time: its source, hub and detector."""

    config: CameraConfig
    source: FrameSource
    hub: FrameHub
    detector: MotionDetector

    @property
    def name(self) -> str:
        return self.config.name

    @classmethod
    def open(cls, config: CameraConfig, index: int, origin: str = "the configuration") -> Camera:
        """Build the camera's parts; a bad source names its config key and where it was set."""
        key = f"camera[{index}]"
        try:
            options: dict[str, Any] = {}
            if config.source_token_file is not None:
                options["token_file"] = config.source_token_file
            if config.source_ca_bundle is not None:
                options["ca_bundle"] = config.source_ca_bundle
            source = open_source(config.source, fps=config.fps, **options)
        except InvalidSource as exc:
            # The source's own message already says which kinds exist (or how to spell this
            # one): the fix points at the examples instead of printing that list a second time.
            raise ConfigError(
                f"{key}.source",
                config.source,
                origin,
                str(exc),
                "correct it as that says (examples: 'yardcam run --help')",
            ) from None
        detector = MotionDetector(
            threshold=config.threshold,
            zones=[parse_zone(z) for z in config.zones],
            masks=[parse_zone(m) for m in config.masks],
            cooldown=config.cooldown,
            min_frames=config.min_frames,
            gap=config.gap,
            policy=ArchivePolicy(
                per_second=config.archive_per_second, every_frame=config.archive_every_frame
            ),
        )
        return cls(config, source, FrameHub(name=config.name), detector)


def run(
    config: CamConfig, *, command: str = "yardcam", sources: Mapping[str, str] | None = None
) -> int:
    """Run until SIGINT/SIGTERM; returns the process exit status.

    ``command`` is how the user invoked yardcam, for hints that work as printed; ``sources``
    (``Loaded.sources``) lets a refused setting say where it was set.
    """
    configure_logging(config.log_format, config.log_level)
    return asyncio.run(_main(config, command, sources or {}))


async def _main(config: CamConfig, command: str, sources: Mapping[str, str]) -> int:
    try:  # what the user configured is checked before anything is created or served
        cameras = [
            Camera.open(c, i, sources.get(f"camera[{i}].source", "the configuration"))
            for i, c in enumerate(config.cameras)
        ]
    except (ConfigError, ValueError) as exc:
        print(f"yardcam run: configuration: {exc}", file=sys.stderr)
        return 2
    embedded = config.archive_url is None
    data = config.data_dir.resolve()
    raise_open_file_limit()  # web clients, frames and the index share one descriptor table
    try:  # before the first-run login is made: it is shown once, in the banner
        lock_data_dir(data)
        cam_socket = listen(config.host, config.port, "port")
        archive_socket = (
            listen(config.host, config.archive_port, "archive_port") if embedded else None
        )
    except CannotStart as exc:
        print(f"yardcam run: {exc}", file=sys.stderr)
        return 2
    # Port 0 asks the kernel for a free port: from here on the config names the ports bound, so
    # the uploader's URL, the gallery link and the banner are right (tests start boxes this way).
    config = dataclasses.replace(
        config,
        port=cam_socket.getsockname()[1],
        archive_port=archive_socket.getsockname()[1] if archive_socket else config.archive_port,
    )
    cam_dir = data / "cam"
    cam_dir.mkdir(parents=True, exist_ok=True)
    # The embedded archive always serves the self-signed certificate, which the uploader trusts
    # explicitly on 127.0.0.1; the dashboard serves the configured one when there is one.
    own_cert, own_key = ensure_self_signed_cert(data / "tls")
    cert, key = own_cert, own_key
    if config.tls_cert is not None and config.tls_key is not None:
        cert, key = config.tls_cert, config.tls_key
    users_file = data / "users.json"
    accounts = Accounts(users_file)
    password = create_first_user(accounts)

    servers: list[tuple[Server, socket.socket]] = []
    tokens: dict[str, TokenSource] = {}
    if archive_socket is not None:
        archive_settings = ArchiveSettings.for_data_dir(
            data / "archive", accounts_file=users_file, retention=config.archive_retention()
        )
        for camera in cameras:  # an upload token per camera: each one uploads only as itself
            token_file = cam_dir / "archive-tokens" / camera.name
            if not token_file.exists():
                token = await create_token(archive_settings, camera.name, "upload")
                write_atomic(token_file, token.encode())
                log.info("created the embedded archive's upload token for cam %r", camera.name)
            tokens[camera.name] = TokenSource(token_file)
        archive_url = f"https://127.0.0.1:{config.archive_port}/frames"
        verify: bool | str = str(own_cert)
        archive_app = create_archive_app(archive_settings)
        servers.append(
            (_server(archive_app, "archive", own_cert, own_key, config.serving), archive_socket)
        )
    else:
        assert config.archive_url and config.token_file  # checked when the config was loaded
        archive_url = config.archive_url
        verify = str(config.ca_bundle) if config.ca_bundle else True
        tokens = {camera.name: TokenSource(config.token_file) for camera in cameras}

    first = cameras[0]
    outbox = config.outbox
    uploader = Uploader(
        open_outbox(config),
        archive_url,
        cam=first.name,
        token=tokens[first.name],
        tokens=tokens,
        verify=verify,
        trust_env=not embedded,  # the embedded archive is this box: no proxy can reach it
        concurrency=outbox.concurrency,
        retry_interval=outbox.retry_interval,
    )
    for camera in cameras:
        camera.detector.subscribe(functools.partial(uploader.submit, cam=camera.name))
    cam_settings = DashboardSettings(
        web=WebSettings(
            secret_key=ensure_secret_key(cam_dir / "secret"),
            cookie_name="yardcam_cam",
            cors_origins=config.cors_origins,
        ),
        accounts=accounts,
        data_dir=data,
        name="yardcam" if len(cameras) > 1 else f"yardcam · {first.name}",
        # {host}: the name each browser used for the dashboard (localhost, the LAN address).
        gallery_url=f"https://{{host}}:{config.archive_port}/gallery" if embedded else None,
        ca_file=own_cert if cert == own_cert else None,
    )
    cam_app = create_app(
        [CameraFeed(c.name, c.hub, c.detector, uploader.stats) for c in cameras], cam_settings
    )
    servers.insert(0, (_server(cam_app, "dashboard", cert, key, config.serving), cam_socket))

    intake = [
        *(_task(functools.partial(c.hub.run, c.source), f"source {c.name}") for c in cameras),
        *(_task(functools.partial(c.detector.run, c.hub), f"detector {c.name}") for c in cameras),
    ]
    upload = _task(uploader.run, "uploader")
    report = _task(functools.partial(_report, cameras, uploader), "status line")
    serving = [
        asyncio.create_task(server.serve(sockets=[sock]), name="server") for server, sock in servers
    ]

    _announce(config, cameras, archive_url, password, data, command, sources)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, _on_signal, stop, uploader)
    waiting = asyncio.create_task(stop.wait())
    await asyncio.wait([waiting, *serving], return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()

    started = time.monotonic()
    log.info("stopping: intake first, then the outbox, then the web servers")
    for task in intake:
        task.cancel()
    await asyncio.gather(*intake, return_exceptions=True)
    for camera in cameras:  # an event cut by the stop still hands on its best frame
        camera.detector.end_event(now=time.time())
    # Leave the servers a second of the bound; the uploads in flight get the rest.
    grace = max(0.0, config.stop_timeout - (time.monotonic() - started) - 1.0)
    await uploader.close(grace)
    await asyncio.gather(upload, return_exceptions=True)
    report.cancel()
    for camera in cameras:
        log.info("camera %s: triggers handed on: %d", camera.name, camera.detector.trigger_count)
    stats = uploader.stats()
    log.info(
        "stopped: %s sent, %s dropped, %s pending in the outbox for the next start",
        stats["sent"],
        stats["dropped"],
        stats["pending"],
    )
    for server, _ in servers:
        server.should_exit = True
    await asyncio.gather(*serving, return_exceptions=True)
    return 0


def _on_signal(stop: asyncio.Event, uploader: Uploader) -> None:
    """First signal: a clean stop. Second: out now (frames not yet on disk are lost)."""
    if not stop.is_set():
        stop.set()
        return
    stats = uploader.stats()
    log.error("forced stop: exiting now; %s pending stay in the outbox", stats["pending"])
    logging.shutdown()
    os._exit(1)


def _task(factory: Callable[[], Coroutine[Any, Any, None]], name: str) -> asyncio.Task[None]:
    task = asyncio.create_task(factory(), name=name)
    task.add_done_callback(_report_crash)
    return task


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("%s stopped", task.get_name(), exc_info=task.exception())


class CannotStart(OSError):
    """Something else holds what this run needs; the message says what to do."""


def lock_data_dir(
    data: Path, hint: str = "stop that one first, or give this one its own --data-dir"
) -> None:
    """Hold ``DATA/yardcam.lock`` until the process exits (the kernel lets go even on kill -9).

    Two runs on one data directory would send every queued frame twice and race to delete it;
    the outbox commands take it too, so they never change an outbox a running cam holds.
    """
    try:
        data.mkdir(parents=True, exist_ok=True)
        fd = os.open(data / "yardcam.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise CannotStart(
            f"cannot use {data} as the data directory ({exc.strerror}); give one this user "
            "may write to: --data-dir DIR, or data_dir in the configuration file"
        ) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode("ascii", "replace").strip() or "?"
        os.close(fd)
        raise CannotStart(
            f"{data} is in use by another yardcam run (pid {holder}); {hint}"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())


def listen(host: str, port: int, key: str) -> socket.socket:
    """Bind before announcing anything, so a taken port is one clear line, not a traceback;
    the advice follows the reason (a taken port, a privileged one, an address not this box's).
    ``key`` is the port's configuration key (its flag is the same with dashes); both
    ``yardcam run`` and ``yardcam archive serve`` listen through here.
    """
    try:
        return socket.create_server((host, port))
    except OSError as exc:
        where = f"--{key.replace('_', '-')}, or {key} in the configuration file"
        if exc.errno == errno.EADDRINUSE:
            hint = f"is another yardcam running? Stop it, or pick another port ({where})."
        elif exc.errno == errno.EACCES:
            hint = f"ports below 1024 need root: pick a higher one ({where})."
        else:  # EADDRNOTAVAIL, or a host name that does not resolve (gaierror)
            hint = (
                "that address is not one of this box's: use 127.0.0.1 (this box only), 0.0.0.0 "
                "(every network) or one of its own addresses (--host, or host in the "
                "configuration file)."
            )
        # create_server appends the address to strerror; a name lookup's errno is negative.
        code = exc.errno or 0
        reason = os.strerror(code) if code > 0 else "no such host name"
        raise CannotStart(f"cannot listen on {host}:{port} ({reason}); {hint}") from exc


async def _report(cameras: list[Camera], uploader: Uploader, every: float = 30.0) -> None:
    """A status line now and then: the box is alive and where frames stand."""
    while True:
        await asyncio.sleep(every)
        stats = uploader.stats()
        for camera in cameras:
            log.info(
                "camera %s: source %s; frames %d, triggers %d",
                camera.name,
                camera.hub.state,
                camera.detector.frame_count,
                camera.detector.trigger_count,
            )
        log.info(
            "archive %s: %s sent, %s pending, %s dead%s",
            stats["state"],
            stats["sent"],
            stats["pending"],
            stats["dead_lettered"],
            f"; last error: {stats['last_error']}" if stats["last_error"] else "",
        )


def _server(app: object, name: str, cert: Path, key: Path, serving: ServingConfig) -> Server:
    """A server for a socket bound beforehand (see :func:`listen`); :func:`run` handles the
    signals and stops all servers together."""
    return Server(app, name=name, tls=(cert, key), limits=serving.limits(), handle_signals=False)


def browse_host(host: str) -> str:
    """The host name to print in a URL for a server bound to ``host``: ``localhost`` for the
    loopback, and for every address (0.0.0.0) this box's name, as the rest of the LAN reaches
    it (the self-signed certificate holds it, and NAME.local): no browser elsewhere can open
    0.0.0.0.

    >>> browse_host("127.0.0.1"), browse_host("192.168.1.20")
    ('localhost', '192.168.1.20')
    >>> browse_host("0.0.0.0") == socket.gethostname()
    True
    """
    if host in ("127.0.0.1", "::1", "localhost"):
        return "localhost"
    if host in ("0.0.0.0", "::", ""):
        return socket.gethostname()
    return f"[{host}]" if ":" in host else host


def _announce(
    config: CamConfig,
    cameras: list[Camera],
    archive_url: str,
    password: str | None,
    data: Path,
    command: str,
    sources: Mapping[str, str],
) -> None:
    where = browse_host(config.host)
    lines = []
    for i, c in enumerate(cameras):
        line = (
            f"yardcam: camera '{c.name}' from {redact_url(c.config.source)} at {c.config.fps:g} fps"
        )
        if sources.get(f"camera[{i}].threshold") == "state":
            # The dashboard's saved threshold wins over --threshold and the file: without this
            # line a flag given now would be ignored without a word.
            line += (
                f", threshold {c.config.threshold:g} as set on the dashboard (kept in "
                f"{data / 'state.json'}, over --threshold and the configuration file)"
            )
        lines.append(line)
    lines += [
        f"  dashboard  https://{where}:{config.port}/",
        f"  archive    {archive_url}",
    ]
    if config.archive_url is None:
        lines.append(f"  gallery    https://{where}:{config.archive_port}/")
    change = f"{command} user passwd owner --data-dir {data}"
    if password is None:
        lines.append(f"  login      your existing account (forgot it? '{change}')")
    elif sys.stdout.isatty():
        lines.append(f"  login      owner / {password}   (shown once; change it: '{change}')")
    else:
        # Output going to a file or a journal would keep the password for anyone who can read
        # logs: it goes into an owner-only file instead, and only its path is printed.
        path = data / FIRST_LOGIN_FILE
        write_atomic(path, f"owner\n{password}\n".encode())
        lines.append(
            f"  login      owner / the password in {path} (owner-only; delete it once read; "
            f"change it: '{change}')"
        )
    lines.append("  The certificate is self-signed: your browser will ask you to accept it once.")
    lines.append("  Ctrl-C stops everything; triggered frames not yet archived wait in the outbox.")
    print("\n".join(lines), flush=True)


def outbox_dir(config: CamConfig) -> Path:
    return config.data_dir / "cam" / "outbox"


def open_outbox(config: CamConfig) -> Outbox:
    """The outbox ``yardcam run`` keeps (the ``outbox`` commands open the same one), with the
    configured bounds; with no ``max_bytes``/``keep_free`` set, both derived from the
    filesystem (``AUTO``), never unbounded: an outage must not fill the disk."""
    bounds = config.outbox
    return Outbox(
        outbox_dir(config),
        max_entries=bounds.max_entries,
        max_bytes=AUTO if bounds.max_bytes is None else bounds.max_bytes,
        keep_free=AUTO if bounds.keep_free is None else bounds.keep_free,
        policy=FullPolicy.REJECT_NEW if bounds.policy == "reject-new" else FullPolicy.EVICT_OLDEST,
    )
