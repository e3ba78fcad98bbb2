"""Crash-safe file writes: temp name, fsync, atomic rename, fsync of the directory.

A reader (or a restart after ``kill -9`` or a power cut) sees either the old file or the new
one, never half of one. Temp files carry :data:`TEMP_SUFFIX` so recovery can find and delete
what a crash left behind.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

TEMP_SUFFIX = ".tmp"

#: errno values that mean "the disk (or the user's quota) is full", not "the data is bad".
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def is_disk_full(exc: OSError) -> bool:
    return exc.errno in DISK_FULL_ERRNOS


def temp_path(path: Path) -> Path:
    """The hidden sibling a write goes to first; unique per process so writers never collide."""
    return path.with_name(f".{path.name}.{os.getpid()}{TEMP_SUFFIX}")


def write_atomic(path: Path, data: bytes, *, sync_dir: bool = True) -> None:
    """Replace ``path`` with ``data`` atomically; on any error the temp file is removed.

    ``sync_dir=False`` lets a caller batch several renames under one directory fsync.
    """
    tmp = temp_path(path)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
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


def fsync_dir(directory: Path) -> None:
    """Make renames and unlinks in ``directory`` durable (POSIX needs the directory fsynced)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
