"""``sqlite:///path`` index: stdlib sqlite3 in WAL mode, on one dedicated thread.

One connection on one worker thread serialises every statement, which is what SQLite wants
anyway (one writer); the event loop only awaits the thread, and statements queued by
concurrent requests cross to it in batches (see ``_batch``). WAL lets other processes (the CLI,
another node on the same host) read while this one writes; ``busy_timeout`` makes them queue.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from . import _sql
from ._batch import BatchRunner
from ._sqlindex import SqlIndex
from ._types import FrameRecord, StorageError

T = TypeVar("T")


class SQLiteIndex(SqlIndex):
    dialect = _sql.SQLITE

    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = f"sqlite:///{path}"
        self._runner = BatchRunner("yardcam-sqlite")
        self._conn: sqlite3.Connection | None = None
        self._closed = False

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            # FULL: a commit is on disk before the 201 goes out. The cam deletes a frame from
            # its outbox on that 201, so a row lost to a power cut would be a frame lost.
            conn.execute("PRAGMA synchronous=FULL")
            for statement in _sql.SCHEMA:
                conn.execute(statement)
            self._conn = conn
        return self._conn

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._closed:
            raise StorageError("index is closed")

        def call() -> T:
            return fn(self._connect())

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

        def close_conn(_: sqlite3.Connection) -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        if self._conn is not None:
            await self._run(close_conn)
        self._closed = True
        self._runner.close()
