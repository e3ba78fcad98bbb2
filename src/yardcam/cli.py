"""The ``yardcam`` command: wires the layers together; holds no logic of its own."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from yardcam.archive import cli as archive_cli


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(os.environ.get("YARDCAM_DATA_DIR") or Path(base) / "yardcam")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="yardcam", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser(
        "run",
        help="camera + motion detector + dashboard + embedded archive, in one process",
        description="Defaults: the synthetic backyard, dashboard on https://localhost:8443/, "
        "embedded archive + gallery on https://localhost:8444/.",
    )
    run.add_argument(
        "--data-dir",
        type=Path,
        default=_default_data_dir(),
        help="where the outbox, archive, logins and TLS cert live "
        "(default: $YARDCAM_DATA_DIR or ~/.local/share/yardcam)",
    )
    run.add_argument(
        "--source",
        default="synthetic",
        help="synthetic[:seed=N,...], dir:PATH, http(s)://MJPEG, device:0, rtsp://...",
    )
    run.add_argument("--fps", type=float, default=10.0)
    run.add_argument("--cam", default="yard", help="this camera's name in the archive")
    run.add_argument(
        "--host", default="127.0.0.1", help="address to serve on (0.0.0.0 to reach it from the LAN)"
    )
    run.add_argument("--port", type=int, default=8443, help="dashboard port")
    run.add_argument("--archive-port", type=int, default=8444, help="embedded archive port")
    run.add_argument(
        "--archive-url", help="an external archive's POST /frames URL (instead of the embedded one)"
    )
    run.add_argument("--token-file", type=Path, help="the external archive's upload token")
    run.add_argument("--ca-bundle", type=Path, help="CA bundle to verify the external archive")
    run.add_argument("--threshold", type=float, default=12.0, help="motion threshold, 0..100")
    run.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="an origin (https://host[:port]) whose pages may call the cam's API; repeatable",
    )
    run.set_defaults(func=_run)

    user = sub.add_parser("user", help="logins of the cam's dashboard (and embedded gallery)")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    set_user = user_sub.add_parser("set", help="create a login or change its password")
    set_user.add_argument("username")
    set_user.add_argument("--data-dir", type=Path, default=_default_data_dir())
    set_user.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin (scripts)"
    )
    set_user.set_defaults(func=_user_set)

    token = sub.add_parser("token", help="API tokens for scripts calling the cam's dashboard API")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    create = token_sub.add_parser("create", help="make a token (printed once)")
    create.add_argument("name", help="what uses it, e.g. home-assistant")
    create.add_argument("--scope", choices=["read", "control"], default="read")
    listing = token_sub.add_parser("list", help="names and scopes (never the tokens)")
    revoke = token_sub.add_parser("revoke", help="stop a token working, at once")
    revoke.add_argument("name")
    for command, func in ((create, _token_create), (listing, _token_list), (revoke, _token_revoke)):
        command.add_argument("--data-dir", type=Path, default=_default_data_dir())
        command.set_defaults(func=func)

    archive_cli.register(sub)
    return parser


def _user_set(args: argparse.Namespace) -> int:
    from yardcam.web import Accounts, read_new_password

    try:
        password = read_new_password(args.username, from_stdin=args.password_stdin)
        Accounts(args.data_dir / "users.json").set_password(args.username, password)
    except ValueError as exc:
        print(f"yardcam user set: {exc}", file=sys.stderr)
        return 2
    print(f"login {args.username} saved; open sessions of that user are ended")
    return 0


def _token_create(args: argparse.Namespace) -> int:
    from yardcam.dashboard import create_api_token

    try:
        print(create_api_token(args.data_dir, args.name, args.scope))
    except ValueError as exc:
        print(f"yardcam token create: {exc}", file=sys.stderr)
        return 2
    return 0


def _token_list(args: argparse.Namespace) -> int:
    import time

    from yardcam.dashboard import list_api_tokens

    for token in list_api_tokens(args.data_dir):
        created = time.strftime("%Y-%m-%d %H:%M", time.localtime(token.created))
        print(f"{token.name}\t{token.scope}\tcreated {created}")
    return 0


def _token_revoke(args: argparse.Namespace) -> int:
    from yardcam.dashboard import revoke_api_token

    try:
        revoke_api_token(args.data_dir, args.name)
    except KeyError:
        print(
            f"yardcam token revoke: no token named {args.name!r} ('yardcam token list')",
            file=sys.stderr,
        )
        return 2
    print(f"token {args.name} revoked")
    return 0


def _run(args: argparse.Namespace) -> int:
    from yardcam.run import RunOptions, run

    return run(
        RunOptions(
            data_dir=args.data_dir,
            source=args.source,
            fps=args.fps,
            cam=args.cam,
            host=args.host,
            port=args.port,
            archive_port=args.archive_port,
            archive_url=args.archive_url,
            token_file=args.token_file,
            ca_bundle=args.ca_bundle,
            threshold=args.threshold,
            cors_origins=tuple(args.cors_origin),
        )
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))
