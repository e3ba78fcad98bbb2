"""The session-signing secret of a web app, kept in a private file so sessions outlive restarts."""

from __future__ import annotations

import secrets
from pathlib import Path

from ..durable import write_atomic


def ensure_secret_key(path: Path) -> str:
    """The session-signing secret stored at ``path``, created (random, 0600) on first run.

    Keeping it on disk means sessions survive a restart; deleting the file logs everybody out.
    """
    try:
        key = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        key = ""
    if len(key) < 32:
        key = secrets.token_urlsafe(48)
        write_atomic(path, key.encode("ascii") + b"\n")
    return key
