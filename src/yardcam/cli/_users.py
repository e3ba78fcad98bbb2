"""``yardcam user ...`` and ``yardcam archive user ...``: one implementation, two account files.

The cam's logins live in ``DATA/users.json`` (dashboard and embedded gallery); an archive
node's gallery logins in its ``accounts.json``. Both are :class:`yardcam.web.Accounts`, which a
running server re-reads, so every command takes effect without a restart.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from yardcam.run import FIRST_LOGIN_FILE
from yardcam.web import Accounts, read_new_password

from ._hints import same_place

AccountsPath = Callable[[argparse.Namespace], Path]


def register(
    subparsers: Any, accounts_path: AccountsPath, *, prog: str, what: str, parents: list[Any]
) -> None:
    """Add ``user add|passwd|list|remove`` under ``subparsers``; ``accounts_path(args)`` finds
    the file from the parsed options (``parents`` add those options)."""
    user = subparsers.add_parser(
        "user",
        help=f"{what}: add, passwd, list, remove",
        description=f"Logins of {what}. A running server picks up changes at once.",
        epilog=f"examples:\n  {prog} user add alice\n  echo 'long secret' | {prog} user "
        f"passwd owner --password-stdin\n  {prog} user list\n  {prog} user remove alice",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = user.add_subparsers(dest="user_command", required=True)
    for name, help_text in (
        ("add", "create a login (asks for its password twice)"),
        ("passwd", "change a login's password (ends its open sessions)"),
    ):
        cmd = sub.add_parser(name, parents=parents, help=help_text)
        cmd.add_argument("username")
        cmd.add_argument(
            "--password-stdin", action="store_true", help="read the password from stdin (scripts)"
        )
        cmd.set_defaults(func=_command(_set, accounts_path, prog, creating=name == "add"))
    listing = sub.add_parser("list", parents=parents, help="list logins (never the hashes)")
    listing.set_defaults(func=_command(_list, accounts_path, prog))
    remove = sub.add_parser("remove", parents=parents, help="delete a login and its sessions")
    remove.add_argument("username")
    remove.set_defaults(func=_command(_remove, accounts_path, prog))


def _command(work: Callable[..., int], accounts_path: AccountsPath, prog: str, **kw: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        path = accounts_path(args)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            print(
                f"{prog} user {args.user_command}: cannot use {path.parent} as the data "
                f"directory ({exc.strerror}); give one this user may write to: --data-dir DIR",
                file=sys.stderr,
            )
            return 2
        try:
            return work(args, Accounts(path), prog=prog, **kw)
        except ValueError as exc:
            print(f"{prog} user {args.user_command}: {exc}", file=sys.stderr)
            return 2

    return run


def _set(args: argparse.Namespace, accounts: Accounts, *, prog: str, creating: bool) -> int:
    name = args.username
    if creating and name in accounts:
        raise ValueError(
            f"{name} exists already; change its password with "
            f"'{prog} user passwd {name}{same_place(args)}'"
        )
    if not creating and name not in accounts:
        raise ValueError(
            f"no login {name!r}; create it with '{prog} user add {name}{same_place(args)}'"
        )
    password = read_new_password(name, from_stdin=args.password_stdin)
    accounts.set_password(name, password)
    print(f"login {name} {'created' if creating else 'saved; its open sessions are ended'}")
    if accounts.path is not None:
        _forget_first_login(accounts.path.parent / FIRST_LOGIN_FILE, name)
    return 0


def _forget_first_login(path: Path, name: str) -> None:
    """The first-run password file (``yardcam run`` writes it when not on a terminal) must not
    outlive the password it holds: a new one for that login deletes it."""
    try:
        holder = path.read_text().split()[0]
    except (FileNotFoundError, IndexError):
        return
    if holder == name:
        path.unlink(missing_ok=True)
        print(f"deleted {path}: it held {name}'s first-run password")


def _list(args: argparse.Namespace, accounts: Accounts, *, prog: str) -> int:
    names = list(accounts)
    for name in names:
        print(name)
    if not names:
        print(
            f"no logins yet; add one with '{prog} user add NAME{same_place(args)}'",
            file=sys.stderr,
        )
    return 0


def _remove(args: argparse.Namespace, accounts: Accounts, *, prog: str) -> int:
    try:
        accounts.remove(args.username)
    except KeyError:
        print(
            f"{prog} user remove: no login {args.username!r} ('{prog} user list"
            f"{same_place(args)}' names them)",
            file=sys.stderr,
        )
        return 1
    print(f"login {args.username} removed; its open sessions are ended")
    return 0
