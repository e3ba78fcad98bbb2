"""Real small filesystems for disk-full tests and the chaos benchmark: ENOSPC from the kernel.

Mounting a tmpfs needs root (or CAP_SYS_ADMIN). Where it cannot be mounted, a test skips on a
developer's machine but fails in CI (see ``ci.missing``): a disk-full test that silently skips
proves nothing.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

from ci import missing


class CannotMount(OSError):
    pass


@contextlib.contextmanager
def tmpfs(mnt: Path, size: str) -> Iterator[Path]:
    """Mount a tmpfs of ``size`` (``64k``, ``20m``) on ``mnt`` for the block; raise CannotMount."""
    mnt.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)], capture_output=True
    )
    if result.returncode != 0:
        raise CannotMount(f"cannot mount a tmpfs on {mnt}: {result.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        # Lazy: detaches even if a straggling thread still holds a file there.
        subprocess.run(["umount", "--lazy", str(mnt)], check=False)


@contextlib.contextmanager
def tmpfs_or_skip(mnt: Path, size: str) -> Iterator[Path]:
    """:func:`tmpfs` for a test: skipped where it cannot be mounted, except in CI (a failure)."""
    try:
        with tmpfs(mnt, size) as mounted:
            yield mounted
    except CannotMount as exc:
        missing(f"{exc} (mounting needs root)")
