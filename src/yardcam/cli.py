"""The ``yardcam`` command: wires the layers together; holds no logic of its own."""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="yardcam", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="synthetic camera + dashboard + embedded archive")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "run":
        print("yardcam run: the camera, dashboard and archive are not wired yet")
        return 1
    return 2
