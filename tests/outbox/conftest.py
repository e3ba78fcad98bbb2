"""Fixtures for the outbox tests: the archive stub served over real HTTPS."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from archive_stub import ArchiveStub

from disks import tmpfs_or_skip
from serving import Running, TLSFiles, serve


@pytest.fixture
def stub() -> ArchiveStub:
    return ArchiveStub()


@pytest.fixture
def start_archive(stub: ArchiveStub, tls_files: TLSFiles) -> Iterator[Callable[..., Running]]:
    """``start_archive(sock=None, tls=True)`` -> the stub over real HTTPS (trustme) or plain
    HTTP, on a fresh port or on ``sock`` (``serving.refusing_socket``); stopped at test end."""
    with contextlib.ExitStack() as stack:

        def start(sock: socket.socket | None = None, tls: bool = True) -> Running:
            return stack.enter_context(
                serve(
                    stub.app(), tls_files if tls else None, sock=sock, timeout_graceful_shutdown=1
                )
            )

        yield start


@pytest.fixture
def archive(start_archive: Callable[..., Running]) -> Running:
    return start_archive()


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 64 KiB tmpfs, so ENOSPC comes from the kernel, not from a fake."""
    with tmpfs_or_skip(tmp_path / "tiny", "64k") as mnt:
        yield mnt
