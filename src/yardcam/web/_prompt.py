"""Reading a new password on the command line, for every ``user add`` and ``user passwd``."""

from __future__ import annotations

import getpass
import sys


def read_new_password(username: str, *, from_stdin: bool = False) -> str:
    """Ask twice on the terminal (never echoed), or read one line from stdin for scripts.

    Raises ValueError when the two entries differ, or when there is no terminal to ask on
    (getpass would read the password from a pipe in clear, or die on EOF); strength rules are
    the caller's (:meth:`Accounts.set_password` checks them).
    """
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        raise ValueError("no terminal to ask for the password on: pipe it in with --password-stdin")
    password = getpass.getpass(f"password for {username}: ")
    if getpass.getpass("again: ") != password:
        raise ValueError("the two passwords differ; nothing was changed")
    return password
