"""``yardcam archive ...``: serve a node, manage tokens, purge, export.

The top-level CLI calls :func:`register` with its subparsers; every leaf command sets
``args.func`` (``func(args) -> int`` exit status). Storage options come from flags, else from
``YARDCAM_ARCHIVE_*`` environment variables (see :meth:`ArchiveSettings.from_env`).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..names import is_valid_cam
from ..web import read_new_password
from ._archive import Archive
from ._export import export_zip
from ._retention import purge
from ._settings import ArchiveSettings, Retention
from ._timestamps import parse_timestamp
from ._tokens import SCOPES, issue_token, parse_expiry
from ._users import create_user
from .storage import StorageError


def _storage_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir", type=Path, help="embedded storage root (default: env or ./yardcam-archive)"
    )
    common.add_argument("--blobs", help="blob store URL: file:///dir or s3://bucket?endpoint=...")
    common.add_argument("--index", help="index URL: sqlite:///path.db or postgresql://...")
    common.add_argument("--max-age", type=float, help="retention: max frame age in days")
    common.add_argument("--max-bytes", type=int, help="retention: max bytes per cam")
    return common


def settings_from_args(args: argparse.Namespace) -> ArchiveSettings:
    overrides: dict[str, Any] = {
        "data_dir": args.data_dir,
        "blobs": args.blobs,
        "index": args.index,
    }
    if args.max_age is not None or args.max_bytes is not None:
        max_age = None if args.max_age is None else args.max_age * 86400.0
        overrides["retention"] = {"*": Retention(max_age=max_age, max_bytes=args.max_bytes)}
    for name in ("max_frame_bytes",):
        overrides[name] = getattr(args, name, None)
    return ArchiveSettings.from_env(**overrides)


def _parse_since(text: str) -> float:
    try:
        return parse_timestamp(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _cam(text: str) -> str:
    if not is_valid_cam(text):
        raise argparse.ArgumentTypeError("cam names are 1-64 letters, digits, '_' or '-'")
    return text


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``archive`` command group to a top-level CLI's subparsers."""
    common = _storage_options()
    archive = subparsers.add_parser("archive", help="the archive service (off-site frame store)")
    sub = archive.add_subparsers(dest="archive_command", required=True)

    serve = sub.add_parser("serve", parents=[common], help="run an archive node")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8750)
    serve.add_argument("--tls-cert", type=Path, help="PEM certificate chain (enables HTTPS)")
    serve.add_argument("--tls-key", type=Path, help="PEM private key")
    serve.add_argument("--max-frame-bytes", type=int)
    serve.set_defaults(func=_serve)

    token = sub.add_parser("token", help="manage API tokens").add_subparsers(
        dest="token_command", required=True
    )
    create = token.add_parser("create", parents=[common], help="create a token, print it once")
    create.add_argument("--cam", type=_cam, help="the cam it is for (required for upload)")
    create.add_argument("--scope", choices=SCOPES, default="upload")
    create.add_argument(
        "--expires", type=parse_expiry, help="a lifetime (90m, 12h, 30d, 8w) or an instant"
    )
    create.set_defaults(func=_token_create)
    listing = token.add_parser("list", parents=[common], help="list tokens (never the secrets)")
    listing.set_defaults(func=_token_list)
    revoke = token.add_parser("revoke", parents=[common], help="revoke a token by id")
    revoke.add_argument("token_id")
    revoke.set_defaults(func=_token_revoke)

    user = sub.add_parser("user", help="gallery logins").add_subparsers(
        dest="user_command", required=True
    )
    set_user = user.add_parser(
        "set", parents=[common], help="create a gallery user or change its password"
    )
    set_user.add_argument("username")
    set_user.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin (scripts)"
    )
    set_user.set_defaults(func=_user_set)

    purge_cmd = sub.add_parser("purge", parents=[common], help="apply retention once")
    purge_cmd.set_defaults(func=_purge)

    export = sub.add_parser("export", parents=[common], help="write a cam's frames to a zip")
    export.add_argument("--cam", type=_cam, required=True)
    export.add_argument("--since", type=_parse_since, help="epoch seconds or ISO 8601")
    export.add_argument("--until", type=_parse_since, help="epoch seconds or ISO 8601")
    export.add_argument("out", type=Path, help="the zip file to write")
    export.set_defaults(func=_export)
    return archive


def _with_archive(args: argparse.Namespace, work: Any) -> int:
    """Open the storage, run ``work(archive)``, report storage failures as a clean exit 1."""

    async def run() -> int:
        async with Archive(settings_from_args(args)) as archive:
            result: int = await work(archive)
            return result

    try:
        return asyncio.run(run())
    except StorageError as exc:
        print(f"yardcam archive: storage error: {exc}", file=sys.stderr)
        return 1


def _serve(args: argparse.Namespace) -> int:
    import socket

    from ..web import Server, raise_open_file_limit
    from ._app import create_app

    if (args.tls_cert is None) != (args.tls_key is None):
        print("yardcam archive serve: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    settings = settings_from_args(args)
    tls = None if args.tls_cert is None else (args.tls_cert, args.tls_key)
    scheme = "https" if tls else "http"
    try:
        sock = socket.create_server((args.host, args.port))
    except OSError as exc:
        print(
            f"yardcam archive serve: cannot listen on {args.host}:{args.port} ({exc.strerror}); "
            "stop what holds that port, or pick another with --port",
            file=sys.stderr,
        )
        return 2
    raise_open_file_limit()
    print(
        f"yardcam archive: serving {scheme}://{args.host}:{sock.getsockname()[1]}/ "
        f"(blobs {settings.blobs}, index {_redact(settings.index)}); Ctrl-C stops",
        file=sys.stderr,
        flush=True,
    )
    Server(create_app(settings), name="archive", tls=tls).run(sockets=[sock])
    return 0


def _utc(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch))


def _redact(url: str) -> str:
    """An index URL without its password, fit for a terminal or a log."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


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
            print(f"yardcam archive token revoke: no token {args.token_id!r}", file=sys.stderr)
            return 1
        # Running nodes trust a token they checked for token_ttl seconds (one index read saved
        # per upload); say so, so nobody takes a second of grace for a failed revocation.
        ttl = archive.settings.token_ttl
        print(f"revoked {args.token_id}; running nodes refuse it within {ttl:g} s")
        return 0

    return _with_archive(args, work)


def _user_set(args: argparse.Namespace) -> int:
    try:
        password = read_new_password(args.username, from_stdin=args.password_stdin)
        create_user(settings_from_args(args), args.username, password)
    except ValueError as exc:
        print(f"yardcam archive user set: {exc}", file=sys.stderr)
        return 2
    print(f"gallery user {args.username} saved")
    return 0


def _purge(args: argparse.Namespace) -> int:
    async def work(archive: Archive) -> int:
        result = await purge(archive)
        print(f"purged {result.frames} frames ({result.bytes} bytes)")
        return 0

    return _with_archive(args, work)


def _export(args: argparse.Namespace) -> int:
    async def work(archive: Archive) -> int:
        count = await export_zip(
            archive,
            args.cam,
            args.out,
            since=args.since,
            until=args.until,
            progress_stream=sys.stderr,
        )
        print(f"exported {count} frames to {args.out}")
        return 0

    return _with_archive(args, work)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m yardcam.archive.cli archive ...`` (the same commands as ``yardcam archive``)."""
    parser = argparse.ArgumentParser(prog="yardcam")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
