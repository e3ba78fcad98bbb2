"""Private files (password hashes, keys, secrets) written atomically with owner-only permissions.

A crash mid-write must never leave a truncated accounts file or key: we write a temporary file in
the same directory (created 0600, so the secret is never world-readable even for an instant),
fsync it, rename it over the target and fsync the directory so the rename itself is durable.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def write_private_file(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically; the file is readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


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
        write_private_file(path, key.encode("ascii") + b"\n")
    return key
