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
