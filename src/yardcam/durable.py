"""Crash-safe file writes: temp name, fsync, atomic rename, fsync of the directory.

The rules every caller relies on:

- :func:`write_atomic`: a reader, or a restart after ``kill -9`` or a power cut, sees either the
  old file or the new one, never half of one. The data is fsynced before the rename, and the
  rename is durable once the directory is fsynced (at once, or by the caller's own
  :func:`fsync_dir` when it batches several renames under one).
- Files are created owner-only (0600): accounts, keys and tokens are never readable by others,
  not even for an instant; a caller that wants a public file (a certificate) chmods it after.
- Temp files are hidden siblings ending in :data:`TEMP_SUFFIX`, so recovery after a crash can
  find and delete what a write left behind.

The lowest layer: every package may use it except ``requests``, which imports nothing of yardcam.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from pathlib import Path

TEMP_SUFFIX = ".tmp"

#: errno values that mean "the disk (or the user's quota) is full", not "the data is bad".
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})

_IOV_MAX = 512  # below every kernel's IOV_MAX
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


def is_disk_full(exc: OSError) -> bool:
    return exc.errno in DISK_FULL_ERRNOS


def write_atomic(path: Path, data: bytes, *, sync_dir: bool = True) -> None:
    """Replace ``path`` with ``data`` atomically (mode 0600); on any error the temp file is
    removed and ``path`` is left as it was. Missing parent directories are created.

    ``sync_dir=False`` lets a caller batch several renames under one :func:`fsync_dir`.
    """
    # Random, not per-process: two threads writing one path must not share a temp file.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}{TEMP_SUFFIX}")
    try:
        fd = os.open(tmp, _CREATE, 0o600)
    except FileNotFoundError:
        _make_parents(path.parent, sync=sync_dir)
        fd = os.open(tmp, _CREATE, 0o600)
    try:
        try:
            write_all(fd, [data])
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    if sync_dir:
        fsync_dir(path.parent)


def write_all(fd: int, chunks: list[bytes]) -> None:
    """Write every byte of ``chunks`` to ``fd``: ``writev`` in slices the kernel accepts,
    resuming after short writes (one system call for a whole buffered frame)."""
    views = [memoryview(chunk) for chunk in chunks if chunk]
    first = 0
    while first < len(views):
        written = os.writev(fd, views[first : first + _IOV_MAX])
        while written:
            if written >= len(views[first]):
                written -= len(views[first])
                first += 1
            else:
                views[first] = views[first][written:]
                written = 0


def fsync_dir(directory: str | os.PathLike[str]) -> None:
    """Make renames and unlinks in ``directory`` durable (POSIX needs the directory fsynced)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_parents(directory: Path, *, sync: bool) -> None:
    """Create ``directory`` and its missing parents; with ``sync``, each new entry is made
    durable in its parent, so a file written below survives a crash with its path."""
    missing = []
    below = directory
    while not below.exists() and below != below.parent:
        missing.append(below)
        below = below.parent
    directory.mkdir(parents=True, exist_ok=True)
    if sync:
        for made in reversed(missing):
            fsync_dir(made.parent)
