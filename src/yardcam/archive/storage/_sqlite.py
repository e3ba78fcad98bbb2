"""``sqlite:///path`` index: stdlib sqlite3 in WAL mode, on one dedicated thread.

One connection on one worker thread serialises every statement, which is what SQLite wants
anyway (one writer); the event loop only awaits the thread, and statements queued by
concurrent requests cross to it in batches (see ``_batch``). WAL lets other processes (the CLI,
another node on the same host) read while this one writes; ``busy_timeout`` makes them queue.

Group commit: each batch is one transaction, so many uploads share one WAL fsync. Each call
runs under its own savepoint, so a failing statement undoes only its own work. No call is
answered before the COMMIT; if the COMMIT fails (or the transaction was lost mid-batch, which
makes it fail), every call of the batch fails, so a success is never reported for a row that
is not on disk.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from . import _migrations, _sql
from ._batch import BatchRunner
from ._sqlindex import SqlIndex
from ._types import FrameRecord, StorageError

T = TypeVar("T")


class SQLiteIndex(SqlIndex):
    dialect = _sql.SQLITE

    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = f"sqlite:///{path}"
        self._runner = BatchRunner("yardcam-sqlite", start=self._begin, finish=self._commit)
        self._conn: sqlite3.Connection | None = None
        self._closed = False

    def _begin(self) -> None:
        # IMMEDIATE takes the write lock now (waiting up to the busy timeout), rather than
        # failing at once when a read snapshot must upgrade while another process writes.
        self._connect().execute("BEGIN IMMEDIATE")

    def _commit(self, _: list[Any]) -> None:
        conn = self._conn
        if conn is None:  # closed by this batch (``close`` commits first)
            return
        try:
            conn.execute("COMMIT")
        except sqlite3.Error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            # FULL: a commit is on disk before the 201 goes out. The cam deletes a frame from
            # its outbox on that 201, so a row lost to a power cut would be a frame lost.
            conn.execute("PRAGMA synchronous=FULL")
            try:
                self._migrate(conn)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        # IMMEDIATE: the write lock before reading the version, so two processes opening one
        # file cannot both migrate it (the second waits, then finds it up to date).
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(_migrations.CREATE_VERSION_TABLE)
            rows = conn.execute(_migrations.READ_VERSION).fetchall()
            for sql, params in _migrations.upgrade(self.dialect, rows, self.migrations):
                conn.execute(sql, params)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    async def open(self) -> None:
        """Create or migrate the index now, so a bad file or a too-new schema fails at start."""
        await self._on_thread(lambda: None)

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._closed:
            raise StorageError("index is closed")

        def call() -> T:
            conn = self._connect()
            conn.execute("SAVEPOINT call")
            try:
                result = fn(conn)
            except BaseException:
                conn.execute("ROLLBACK TO call")
                conn.execute("RELEASE call")
                raise
            conn.execute("RELEASE call")
            return result

        return await self._on_thread(call)

    async def _on_thread(self, call: Callable[[], T]) -> T:
        """``call()`` in the next batch on the connection's thread; sqlite errors become
        StorageError."""
        try:
            return await self._runner.run(call)
        except sqlite3.Error as exc:
            raise StorageError(f"sqlite: {exc}") from exc

    async def _all(self, query: _sql.Query) -> list[Any]:
        sql, params = query
        return await self._run(lambda c: c.execute(sql, params).fetchall())

    async def _one(self, query: _sql.Query) -> Any:
        sql, params = query
        return await self._run(lambda c: c.execute(sql, params).fetchone())

    async def _change(self, query: _sql.Query) -> int:
        sql, params = query
        return await self._run(lambda c: c.execute(sql, params).rowcount)

    async def delete_frame(self, frame_id: str) -> FrameRecord | None:
        def delete(conn: sqlite3.Connection) -> Any:
            sql, params = _sql.frame_by_id(self.dialect, frame_id)
            row = conn.execute(sql, params).fetchone()
            sql, params = _sql.delete_frame(self.dialect, frame_id)
            return row if conn.execute(sql, params).rowcount else None

        row = await self._run(delete)
        return None if row is None else _sql.frame_from_row(row)

    async def close(self) -> None:
        if self._closed:
            return

        def close_conn() -> None:
            # Runs as a batch of its own: ends the batch's transaction, so ``_commit`` skips.
            if self._conn is not None:
                self._conn.execute("COMMIT")
                self._conn.close()
                self._conn = None

        if self._conn is not None:
            await self._on_thread(close_conn)
        self._closed = True
        self._runner.close()
