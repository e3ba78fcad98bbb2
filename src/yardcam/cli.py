"""The ``yardcam`` command: wires the layers together; holds no logic of its own."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from yardcam.cloud import cli as archive_cli


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
    run.set_defaults(func=_run)

    archive_cli.register(sub)
    return parser


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
        )
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))
