"""``file://DIR`` blobs: temp file + rename + sync, so a blob is either whole or absent.

Writes are buffered in memory up to a bound and flushed to the temp file off the event loop; a
typical frame (100 KB) costs one thread hop at commit. Temp files live in ``DIR/.tmp`` on the same
filesystem (rename is atomic only within one), and stale ones left by a killed process are removed
when the store is opened.

Durability is a group commit: the commits queued by concurrent uploads run as one batch, then one
``syncfs`` (Linux) makes all their data and renames durable together, instead of two fsyncs per
frame. ``commit`` returns only after that, and the index row is written only after ``commit``,
so a crash can leave an unlisted orphan file, never a listed partial frame. Without ``syncfs``
each file is fsynced and each touched directory once per batch.

The worker does plain ``os`` calls on file descriptors (one ``writev`` per flush, through
``yardcam.durable.write_all``) and remembers the day directories it has made, so a frame costs no
``stat`` and no file-object layer. This is not ``durable.write_atomic``: a blob is streamed in
flushes before its commit, and its fsync is shared by a batch (measured in benchmarks/README.md);
the pieces it shares with it (``write_all``, ``fsync_dir``) come from there.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import hashlib
import os
import secrets
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from ...durable import fsync_dir, write_all
from ._batch import BatchRunner
from ._keys import check_key, is_key, new_temp_name
from ._types import BlobNotFound, StorageError, StoredBlob

_FLUSH_AT = 256 * 1024
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
_KNOWN_DIRS_MAX = 4096
_STALE_TEMP_AGE = 3600.0


def _load_syncfs() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    syncfs: Callable[[int], int] | None = getattr(libc, "syncfs", None)
    return syncfs


_SYNCFS = _load_syncfs()


def _sync_batch(results: list[object]) -> None:
    """Make a batch's renames (and, with syncfs, their data) durable."""
    directories: set[str] = set()
    for result in results:
        if isinstance(result, set):
            directories |= result
    if not directories:
        return
    if _SYNCFS is None:
        for directory in directories:
            fsync_dir(directory)
        return
    fd = os.open(next(iter(directories)), os.O_RDONLY)
    try:
        if _SYNCFS(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"syncfs failed: {os.strerror(err)}")
    finally:
        os.close(fd)


class FileBlobWriter:
    def __init__(self, store: FileBlobStore, key: str) -> None:
        self._store = store
        self._key = key
        self._temp = os.path.join(store.temp_dir, new_temp_name())
        self._fd: int | None = None
        self._buffer: list[bytes] = []
        self._buffered = 0
        self._size = 0
        self._hash = hashlib.sha256()
        self._done = False

    def _flush_sync(self, chunks: list[bytes]) -> None:
        # Hashing here, on the worker thread, keeps ~0.1 ms per 100 KB frame off the event loop
        # (hashlib releases the GIL); flushes are awaited in order, so the digest is too.
        for chunk in chunks:
            self._hash.update(chunk)
        if self._fd is None:
            self._fd = os.open(self._temp, _CREATE, 0o644)
        write_all(self._fd, chunks)

    async def write(self, data: bytes) -> None:
        if self._done:
            raise StorageError("blob writer already finished")
        self._size += len(data)
        self._buffer.append(data)
        self._buffered += len(data)
        if self._buffered >= _FLUSH_AT:
            chunks, self._buffer, self._buffered = self._buffer, [], 0
            try:
                await self._store.runner.run(lambda: self._flush_sync(chunks))
            except OSError as exc:
                raise StorageError(f"writing blob failed: {exc}") from exc

    def _commit_sync(self, chunks: list[bytes]) -> set[str]:
        """Write out and rename into place; returns the directories whose entries changed, for
        the batch to make durable (see ``_sync_batch``)."""
        self._flush_sync(chunks)
        fd, self._fd = self._fd, None
        assert fd is not None
        try:
            if _SYNCFS is None:
                os.fsync(fd)
        finally:
            os.close(fd)
        return self._store.move_into_place(self._temp, self._key)

    async def commit(self) -> StoredBlob:
        if self._done:
            raise StorageError("blob writer already finished")
        self._done = True
        chunks, self._buffer = self._buffer, []
        try:
            await self._store.runner.run(lambda: self._commit_sync(chunks))
        except OSError as exc:
            await self._store.runner.run(self._discard_sync)
            raise StorageError(f"storing blob failed: {exc}") from exc
        return StoredBlob(self._key, self._size, self._hash.hexdigest())

    def _discard_sync(self) -> None:
        # Best effort: this runs while another error is being reported, and a leftover temp
        # file is harmless (never listed, removed as stale on a later open).
        with contextlib.suppress(OSError):
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            os.unlink(self._temp)

    async def abort(self) -> None:
        self._done = True
        self._buffer = []
        if self._fd is not None or os.path.exists(self._temp):
            await self._store.runner.run(self._discard_sync)


def _subdirs(path: str) -> list[str]:
    try:
        with os.scandir(path) as entries:
            return [e.name for e in entries if e.is_dir(follow_symlinks=False)]
    except FileNotFoundError:
        return []


class FileBlobStore:
    """Blobs under one directory; the layout is the key (``cam/YYYY/MM/DD/<id>.jpg``)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._root_dir = str(self.root)
        self.url = self.root.as_uri()
        self.temp_dir = self.root / ".tmp"
        self.temp_dir.mkdir(parents=True, exist_ok=True)
        self._remove_stale_temps()
        self._known_dirs: set[str] = set()  # saves a stat per frame
        # Writes (fsync-bound) run in parallel; concurrent uploads share loop<->thread hops.
        workers = 1 if _SYNCFS else 8  # without syncfs, per-file fsyncs run in parallel
        self.runner = BatchRunner("yardcam-blobs", workers, finish=_sync_batch)

    def _remove_stale_temps(self) -> None:
        cutoff = time.time() - _STALE_TEMP_AGE
        for temp in self.temp_dir.glob("*.part"):
            with contextlib.suppress(FileNotFoundError):
                if temp.stat().st_mtime < cutoff:
                    temp.unlink()

    def move_into_place(self, temp: str, key: str) -> set[str]:
        """Rename a finished temp file to ``key``'s path; the directories whose entries changed."""
        final = os.path.join(self._root_dir, key)
        parent = os.path.dirname(final)
        changed = {parent}
        if parent not in self._known_dirs:  # first frame of the day (or of the cam)
            changed |= self._make_dirs(parent)
        try:
            os.replace(temp, final)
        except FileNotFoundError:  # the directory was removed since (or the temp file is gone)
            self._known_dirs.discard(parent)
            changed |= self._make_dirs(parent)
            os.replace(temp, final)
        return changed

    def _make_dirs(self, directory: str) -> set[str]:
        """Make ``directory`` and its missing parents; the parents whose entries changed."""
        missing = []
        below = directory
        while below != self._root_dir and not os.path.isdir(below):
            missing.append(below)
            below = os.path.dirname(below)
        os.makedirs(directory, exist_ok=True)
        if len(self._known_dirs) >= _KNOWN_DIRS_MAX:
            self._known_dirs.clear()
        self._known_dirs.add(directory)
        return {os.path.dirname(made) for made in missing}

    def path_for(self, key: str) -> Path:
        check_key(key)
        return self.root / key

    async def open_writer(self, key: str) -> FileBlobWriter:
        check_key(key)
        return FileBlobWriter(self, key)

    async def read(self, key: str) -> bytes:
        path = self.path_for(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError as exc:
            raise BlobNotFound(key) from exc
        except OSError as exc:
            raise StorageError(f"reading blob failed: {exc}") from exc

    async def stream(self, key: str, chunk_size: int = 65536) -> AsyncIterator[bytes]:
        path = self.path_for(key)
        try:
            handle = await asyncio.to_thread(open, path, "rb")
        except FileNotFoundError as exc:
            raise BlobNotFound(key) from exc
        try:
            while chunk := await asyncio.to_thread(handle.read, chunk_size):
                yield chunk
        finally:
            handle.close()

    async def delete(self, key: str) -> None:
        path = self.path_for(key)
        try:
            await asyncio.to_thread(path.unlink, True)
        except OSError as exc:
            raise StorageError(f"deleting blob failed: {exc}") from exc

    async def list_keys(self, *, older_than: float) -> AsyncIterator[list[str]]:
        """One batch per day directory (``cam/YYYY/MM/DD``), each listed in a thread."""
        for day in await asyncio.to_thread(self._day_dirs):
            keys = await asyncio.to_thread(self._old_keys, day, older_than)
            if keys:
                yield keys

    def _day_dirs(self) -> list[str]:
        days = []
        for cam in _subdirs(self._root_dir):
            if cam == ".tmp":
                continue
            for year in _subdirs(os.path.join(self._root_dir, cam)):
                for month in _subdirs(os.path.join(self._root_dir, cam, year)):
                    days += [
                        f"{cam}/{year}/{month}/{day}"
                        for day in _subdirs(os.path.join(self._root_dir, cam, year, month))
                    ]
        return days

    def _old_keys(self, day: str, older_than: float) -> list[str]:
        keys = []
        with contextlib.suppress(FileNotFoundError), os.scandir(self.root / day) as entries:
            for entry in entries:
                key = f"{day}/{entry.name}"
                with contextlib.suppress(FileNotFoundError):
                    if is_key(key) and entry.stat().st_mtime < older_than:
                        keys.append(key)
        return keys

    def _check_sync(self) -> None:
        probe = self.temp_dir / f"ready-{secrets.token_hex(6)}"
        probe.write_bytes(b"ok")
        probe.unlink()

    async def check(self) -> None:
        try:
            await asyncio.to_thread(self._check_sync)
        except OSError as exc:
            raise StorageError(f"blob directory not writable: {exc}") from exc

    async def close(self) -> None:
        self.runner.close()
