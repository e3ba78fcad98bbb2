"""``yardcam archive ...``: serve a node, manage tokens, purge, export.

Every setting comes from the node's configuration (:func:`yardcam.config.load_archive_config`):
its TOML file < ``YARDCAM_ARCHIVE_*`` variables < these flags.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import ipaddress
import logging
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from yardcam.archive import (
    SCOPES,
    Archive,
    ArchiveSettings,
    create_app,
    export_zip,
    issue_token,
    purge,
)
from yardcam.archive._timestamps import parse_timestamp
from yardcam.archive._tokens import parse_expiry
from yardcam.archive.storage import StorageError, sqlite_path
from yardcam.config import LOG_LEVELS, ArchiveConfig, load_archive_config, redact_url, render
from yardcam.logs import configure_logging
from yardcam.names import is_valid_cam

from . import _users
from ._hints import same_place
from ._plural import counted
from ._progress import progress_bar

log = logging.getLogger("yardcam.archive")

# The scaled archive's drivers come with the 'scale' extra (pyproject.toml), not by default.
_DRIVERS = {"s3": "obstore", "postgresql": "psycopg", "postgres": "psycopg"}


def _storage_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config", type=Path, help="TOML configuration file (default: DATA/archive.toml)"
    )
    common.add_argument(
        "--data-dir", type=Path, help="embedded storage root (default: env or ./yardcam-archive)"
    )
    common.add_argument("--blobs", help="blob store URL: file:///dir or s3://bucket?endpoint=...")
    common.add_argument("--index", help="index URL: sqlite:///path.db or postgresql://...")
    return common


def _retention_options() -> argparse.ArgumentParser:
    """Only for the commands that apply retention (serve, purge) or show it (config show):
    elsewhere the flags were accepted and silently ignored."""
    retention = argparse.ArgumentParser(add_help=False)
    retention.add_argument("--max-age", type=float, help="retention: max frame age in days")
    retention.add_argument("--max-bytes", type=int, help="retention: max bytes per cam")
    return retention


def config_from_args(args: argparse.Namespace) -> ArchiveConfig:
    """The node's configuration: its file < ``YARDCAM_ARCHIVE_*`` < these flags."""
    loaded = load_archive_config(_flags(args), config_file=args.config)
    config: ArchiveConfig = loaded.config
    return config


def settings_from_args(args: argparse.Namespace) -> ArchiveSettings:
    return config_from_args(args).settings()


def _flags(args: argparse.Namespace) -> dict[str, Any]:
    names = ("data_dir", "blobs", "index", "host", "port", "tls_cert", "tls_key")
    flags: dict[str, Any] = {name: getattr(args, name, None) for name in names}
    flags["max_frame_bytes"] = getattr(args, "max_frame_bytes", None)
    flags["log_format"] = getattr(args, "log_format", None)
    flags["log_level"] = getattr(args, "log_level", None)
    flags["retention"] = {
        "max_age_days": getattr(args, "max_age", None),
        "max_bytes": getattr(args, "max_bytes", None),
    }
    return flags


def _parse_since(text: str) -> float:
    try:
        return parse_timestamp(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _expiry(text: str) -> float:
    """``parse_expiry`` for argparse, which shows only an ArgumentTypeError's own words (a
    ValueError became "invalid parse_expiry value")."""
    try:
        return parse_expiry(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _cam(text: str) -> str:
    if not is_valid_cam(text):
        raise argparse.ArgumentTypeError("cam names are 1-64 letters, digits, '_' or '-'")
    return text


def register(subparsers: Any, *, prog: str = "yardcam archive") -> argparse.ArgumentParser:
    """Add the ``archive`` command group to a top-level CLI's subparsers; ``prog``: how the
    printed hints spell the group (``.venv/bin/yardcam archive`` when that is how it ran)."""
    common = _storage_options()
    retention = [common, _retention_options()]
    archive = subparsers.add_parser("archive", help="the archive service (off-site frame store)")
    archive.set_defaults(archive_prog=prog)
    sub = archive.add_subparsers(dest="archive_command", required=True)

    serve = sub.add_parser("serve", parents=retention, help="run an archive node")
    serve.add_argument("--host", help="address to serve on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to serve on (default 8750)")
    serve.add_argument("--tls-cert", type=Path, help="PEM certificate chain (enables HTTPS)")
    serve.add_argument("--tls-key", type=Path, help="PEM private key")
    serve.add_argument("--max-frame-bytes", type=int)
    serve.add_argument("--log-format", choices=("text", "json"), help="default: text")
    serve.add_argument("--log-level", choices=LOG_LEVELS, help="default: info")
    serve.set_defaults(func=_serve)

    token = sub.add_parser("token", help="manage API tokens").add_subparsers(
        dest="token_command", required=True
    )
    create = token.add_parser("create", parents=[common], help="create a token, print it once")
    create.add_argument("--cam", type=_cam, help="the cam it is for (required for upload)")
    create.add_argument("--scope", choices=SCOPES, default="upload")
    create.add_argument(
        "--expires", type=_expiry, help="a lifetime (90m, 12h, 30d, 8w) or an instant"
    )
    create.set_defaults(func=_token_create)
    listing = token.add_parser("list", parents=[common], help="list tokens (never the secrets)")
    listing.set_defaults(func=_token_list)
    revoke = token.add_parser("revoke", parents=[common], help="revoke a token by id")
    revoke.add_argument("token_id")
    revoke.set_defaults(func=_token_revoke)

    _users.register(
        sub,
        lambda args: settings_from_args(args).accounts_path,
        prog=prog,
        what="an archive node's gallery",
        parents=[common],
    )

    config = sub.add_parser("config", help="the node's effective configuration")
    show = config.add_subparsers(dest="config_command", required=True).add_parser(
        "show",
        parents=retention,
        help="print every setting with its source (secrets masked)",
    )
    show.set_defaults(func=_config_show)

    purge_cmd = sub.add_parser("purge", parents=retention, help="apply retention once")
    purge_cmd.set_defaults(func=_purge)

    export = sub.add_parser("export", parents=[common], help="write a cam's frames to a zip")
    export.add_argument("--cam", type=_cam, required=True)
    export.add_argument("--since", type=_parse_since, help="epoch seconds or ISO 8601")
    export.add_argument("--until", type=_parse_since, help="epoch seconds or ISO 8601")
    export.add_argument("out", type=Path, help="the zip file to write")
    export.set_defaults(func=_export)
    return archive


def missing_driver(settings: ArchiveSettings) -> str | None:
    """What to install when a storage URL's driver is missing (None: nothing), said before
    anything starts: the import would fail only inside the server's start-up, as a traceback.
    """
    for url in (settings.blobs, settings.index):
        scheme = urlsplit(url).scheme
        module = _DRIVERS.get(scheme)
        if module is not None and importlib.util.find_spec(module) is None:
            return (
                f"{scheme}:// storage needs {module}, which comes with the 'scale' extra: "
                "pip install 'yardcam[scale]' (in a checkout: .venv/bin/pip install -e '.[scale]')"
            )
    return None


def _with_archive(args: argparse.Namespace, work: Any) -> int:
    """Open the storage, run ``work(archive)``, report storage failures as a clean exit 1."""
    settings = settings_from_args(args)
    command = " ".join(filter(None, [args.archive_command, getattr(args, "token_command", "")]))
    if (missing := missing_driver(settings)) is not None:
        print(f"yardcam archive {command}: {missing}", file=sys.stderr)
        return 2

    async def run() -> int:
        async with Archive(settings) as archive:
            result: int = await work(archive)
            return result

    try:
        return asyncio.run(run())
    except StorageError as exc:
        print(
            f"yardcam archive {command}: storage error: {exc}; check the blobs and index URLs "
            "(--blobs, --index, or the configuration file) and that what they name is running",
            file=sys.stderr,
        )
        return 1


async def _nothing(archive: Archive) -> int:
    return 0


def plain_http_warning(host: str) -> str | None:
    """What to say when a node serves plain HTTP beyond this box (None: loopback only)."""
    try:
        if ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:  # a host name
        if host == "localhost":
            return None
    return (
        f"serving plain HTTP on {host}: upload tokens and gallery passwords cross the network "
        "in clear, and browsers drop the gallery's Secure session cookie; give --tls-cert and "
        "--tls-key, or serve on 127.0.0.1 behind a TLS reverse proxy (docs/deployment.md)"
    )


def _serve(args: argparse.Namespace) -> int:
    from yardcam.run import CannotStart, listen
    from yardcam.web import Server, raise_open_file_limit

    config = config_from_args(args)
    configure_logging(config.log_format, config.log_level)
    settings = config.settings()
    # Storage that cannot be opened (a driver missing, the database down, a wrong URL) is one
    # clear line and exit 1 here; inside the server's start-up it was a traceback.
    if (failed := _with_archive(args, _nothing)) != 0:
        return failed
    tls = (
        None
        if config.tls_cert is None or config.tls_key is None
        else (config.tls_cert, config.tls_key)
    )
    scheme = "https" if tls else "http"
    try:
        sock = listen(config.host, config.port, "port")
    except CannotStart as exc:
        print(f"yardcam archive serve: {exc}", file=sys.stderr)
        return 2
    raise_open_file_limit()
    if tls is None and (warning := plain_http_warning(config.host)):
        log.warning(warning)
    log.info(
        "serving %s://%s:%d/ (blobs %s, index %s); Ctrl-C stops",
        scheme,
        config.host,
        sock.getsockname()[1],  # the port bound, also when asked for port 0
        redact_url(settings.blobs),
        redact_url(settings.index),
    )
    Server(create_app(settings), name="archive", tls=tls, limits=config.serving.limits()).run(
        sockets=[sock]
    )
    log.info("stopped")
    return 0


def _utc(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch))


def _config_show(args: argparse.Namespace) -> int:
    print(render(load_archive_config(_flags(args), config_file=args.config)), end="")
    return 0


def _token_create(args: argparse.Namespace) -> int:
    async def work(archive: Archive) -> int:
        try:
            secret, record = await issue_token(
                archive.index, args.cam, args.scope, expires=args.expires
            )
        except ValueError as exc:
            print(f"yardcam archive token create: {exc}", file=sys.stderr)
            return 2
        print(secret)
        where = record.cam or "all cams"
        until = "" if record.expires is None else f", expires {_utc(record.expires)}"
        print(f"token {record.id}: {record.scope} for {where}{until} (shown once)", file=sys.stderr)
        return 0

    return _with_archive(args, work)


def _token_list(args: argparse.Namespace) -> int:
    async def work(archive: Archive) -> int:
        print(f"{'ID':14} {'SCOPE':7} {'CAM':20} {'CREATED':20} STATE")
        for t in await archive.index.list_tokens():
            created = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t.created))
            state = "revoked" if t.revoked else "active"
            if not t.revoked and t.expires is not None:
                state = (
                    f"expired {_utc(t.expires)}"
                    if t.expires <= time.time()
                    else (f"active until {_utc(t.expires)}")
                )
            print(f"{t.id:14} {t.scope:7} {t.cam or '*':20} {created:20} {state}")
        return 0

    return _with_archive(args, work)


def _token_revoke(args: argparse.Namespace) -> int:
    async def work(archive: Archive) -> int:
        if not await archive.index.revoke_token(args.token_id):
            print(
                f"yardcam archive token revoke: no token {args.token_id!r} ('{args.archive_prog} "
                f"token list{same_place(args)}' shows the ids)",
                file=sys.stderr,
            )
            return 1
        # Running nodes trust a token they checked for token_ttl seconds (one index read saved
        # per upload); say so, so nobody takes a second of grace for a failed revocation.
        ttl = archive.settings.token_ttl
        print(f"revoked {args.token_id}; running nodes refuse it within {ttl:g} s")
        return 0

    return _with_archive(args, work)


def _purge(args: argparse.Namespace) -> int:
    async def work(archive: Archive) -> int:
        result = await purge(archive)
        print(f"purged {counted(result.frames, 'frame')} ({counted(result.bytes, 'byte')})")
        return 0

    return _with_archive(args, work)


def _not_a_zip_path(out: Path) -> str | None:
    """Why ``out`` cannot become the zip (None: it can), said before any frame is read."""
    if out.is_dir():
        return f"{out} is a directory: name the zip file, e.g. {out / 'frames.zip'}"
    if not out.parent.is_dir():
        return f"no directory {out.parent}: make it first, or write the zip elsewhere"
    return None


def _export(args: argparse.Namespace) -> int:
    """Refuses, creating nothing, an archive that is not there (opening an embedded one would
    make an empty one) and a cam the archive has never seen (most likely a typo); an empty zip
    only for a known cam with no frames in ``--since``/``--until``.
    """
    if (unwritable := _not_a_zip_path(args.out)) is not None:
        print(f"yardcam archive export: {unwritable}", file=sys.stderr)
        return 2
    settings = settings_from_args(args)
    index_file = sqlite_path(settings.index)
    if index_file is not None and not index_file.exists():
        print(
            f"yardcam archive export: no archive in {index_file.parent} (no {index_file.name}); "
            "give the archive's --data-dir (yardcam run's is DATA/archive), or --config / "
            "--index for a node on PostgreSQL",
            file=sys.stderr,
        )
        return 2

    async def work(archive: Archive) -> int:
        cams = sorted(c.cam for c in await archive.index.list_cams())
        if args.cam not in cams:
            known = f"its cams: {', '.join(cams)}" if cams else "it holds no frames yet"
            print(
                f"yardcam archive export: the archive has no cam {args.cam!r}; {known}",
                file=sys.stderr,
            )
            return 2
        try:
            with progress_bar("frames") as bar:
                count = await export_zip(
                    archive, args.cam, args.out, since=args.since, until=args.until, progress=bar
                )
        except StorageError:
            raise  # the archive's side: _with_archive says so
        except OSError as exc:  # the zip's side: a full or read-only disk
            print(
                f"yardcam archive export: cannot write {args.out} ({exc.strerror or exc}); "
                "give a path on a disk with room that this user may write to",
                file=sys.stderr,
            )
            return 1
        print(f"exported {counted(count, 'frame')} to {args.out}")
        return 0

    return _with_archive(args, work)
