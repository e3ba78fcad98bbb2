"""Reading a new password on the command line, for every ``user add`` and ``user passwd``."""

from __future__ import annotations

import getpass
import sys


def read_new_password(username: str, *, from_stdin: bool = False) -> str:
    """Ask twice on the terminal (never echoed), or read one line from stdin for scripts.

    Raises ValueError when the two entries differ; strength rules are the caller's
    (:meth:`Accounts.set_password` checks them).
    """
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    password = getpass.getpass(f"password for {username}: ")
    if getpass.getpass("again: ") != password:
        raise ValueError("the two passwords differ; nothing was changed")
    return password
