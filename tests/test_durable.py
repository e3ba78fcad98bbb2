"""yardcam.durable: whole files or none, owner-only, no temp files left, every byte written."""

from __future__ import annotations

import errno
import os
import stat
import threading
from pathlib import Path

import pytest

from yardcam.durable import fsync_dir, is_disk_full, write_all, write_atomic


def test_write_atomic_replaces_the_file_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    write_atomic(path, b"old")
    write_atomic(path, b"new" * 100_000)
    assert path.read_bytes() == b"new" * 100_000
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert list(tmp_path.iterdir()) == [path]  # no temp file left behind


def test_a_failed_write_leaves_the_old_state_and_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()
    (target / "inside").write_bytes(b"keep")
    with pytest.raises(OSError):  # a non-empty directory cannot be replaced by a file
        write_atomic(target, b"data")
    assert (target / "inside").read_bytes() == b"keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_missing_parent_directories_are_created(tmp_path: Path) -> None:
    for sync_dir in (True, False):
        path = tmp_path / f"a{sync_dir}" / "b" / "secret"
        write_atomic(path, b"x", sync_dir=sync_dir)
        assert path.read_bytes() == b"x"


def test_write_all_writes_more_chunks_than_one_writev_takes(tmp_path: Path) -> None:
    chunks = [bytes([i % 256]) * (i % 7) for i in range(2000)]  # empty ones too
    path = tmp_path / "blob"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        write_all(fd, chunks)
    finally:
        os.close(fd)
    assert path.read_bytes() == b"".join(chunks)


def test_write_all_resumes_after_short_writes() -> None:
    """A pipe takes at most its buffer per call: the rest must follow, in order."""
    read_end, write_end = os.pipe()
    data = os.urandom(1 << 20)
    received = bytearray()
    try:

        def drain() -> None:
            while chunk := os.read(read_end, 65536):
                received.extend(chunk)

        reader = threading.Thread(target=drain)
        reader.start()
        write_all(write_end, [data[:1000], data[1000:]])
        os.close(write_end)
        reader.join()
    finally:
        os.close(read_end)
    assert bytes(received) == data


def test_fsync_dir_takes_paths_and_strings(tmp_path: Path) -> None:
    fsync_dir(tmp_path)
    fsync_dir(str(tmp_path))
    (tmp_path / "f").write_bytes(b"")
    with pytest.raises(NotADirectoryError):
        fsync_dir(tmp_path / "f")


@pytest.mark.parametrize(
    ("code", "full"), [(errno.ENOSPC, True), (errno.EDQUOT, True), (errno.EIO, False)]
)
def test_disk_full_is_told_apart_from_other_errors(code: int, full: bool) -> None:
    assert is_disk_full(OSError(code, os.strerror(code))) is full
