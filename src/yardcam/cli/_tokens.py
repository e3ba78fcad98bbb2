"""``yardcam token create|list|revoke``: API tokens for scripts calling the cam's dashboard API.

The tokens live in the data directory (the dashboard's ``create_api_token`` and friends keep
only their hashes); a running cam sees a new or revoked token at once.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._hints import same_place

DataDir = Callable[[argparse.Namespace], Path]


def register(subparsers: Any, data_dir: DataDir, *, prog: str, parents: list[Any]) -> None:
    token = subparsers.add_parser(
        "token",
        help="API tokens for scripts calling the cam's dashboard API",
        epilog=f"examples:\n  {prog} token create home-assistant --scope control\n"
        f"  {prog} token list\n  {prog} token revoke home-assistant",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = token.add_subparsers(dest="token_command", required=True)
    create = sub.add_parser("create", parents=parents, help="make a token (printed once)")
    create.add_argument("name", help="what uses it, e.g. home-assistant")
    create.add_argument("--scope", choices=["read", "control"], default="read")
    listing = sub.add_parser("list", parents=parents, help="names and scopes (never the tokens)")
    revoke = sub.add_parser("revoke", parents=parents, help="stop a token working, at once")
    revoke.add_argument("name")
    for command, func in ((create, _create), (listing, _list), (revoke, _revoke)):
        command.set_defaults(func=lambda args, func=func: func(args, data_dir(args), prog))


def _create(args: argparse.Namespace, data: Path, prog: str) -> int:
    from yardcam.dashboard import create_api_token, list_api_tokens

    if any(token.name == args.name for token in list_api_tokens(data)):
        print(
            f"{prog} token create: a token named {args.name!r} exists; revoke it first "
            f"('{prog} token revoke {args.name}{same_place(args)}') or pick another name",
            file=sys.stderr,
        )
        return 2
    try:
        print(create_api_token(data, args.name, args.scope))
    except ValueError as exc:
        print(f"{prog} token create: {exc}", file=sys.stderr)
        return 2
    print(f"token {args.name}: {args.scope} (shown once)", file=sys.stderr)
    return 0


def _list(args: argparse.Namespace, data: Path, prog: str) -> int:
    from yardcam.dashboard import list_api_tokens

    tokens = list_api_tokens(data)
    for token in tokens:
        created = time.strftime("%Y-%m-%d %H:%M", time.localtime(token.created))
        print(f"{token.name}\t{token.scope}\tcreated {created}\tid {token.id}")
    if not tokens:
        print(
            f"no API tokens; make one with '{prog} token create NAME{same_place(args)}'",
            file=sys.stderr,
        )
    return 0


def _revoke(args: argparse.Namespace, data: Path, prog: str) -> int:
    from yardcam.dashboard import revoke_api_token

    try:
        revoke_api_token(data, args.name)
    except KeyError:
        print(
            f"{prog} token revoke: no token named {args.name!r} "
            f"('{prog} token list{same_place(args)}' names them)",
            file=sys.stderr,
        )
        return 2
    print(f"token {args.name} revoked")
    return 0
