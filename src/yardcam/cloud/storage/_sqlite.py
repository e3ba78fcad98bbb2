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
from ._types import CamSummary, FramePage, FrameRecord, StorageError, TokenRecord

T = TypeVar("T")
D = _sql.SQLITE


class SQLiteIndex:
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
            # NORMAL is durable across application crashes in WAL mode; only an OS crash can
            # lose the last commits, and those frames' uploads will be retried by the cam.
            conn.execute("PRAGMA synchronous=NORMAL")
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

    async def insert_frame(self, record: FrameRecord) -> tuple[FrameRecord, bool]:
        if await self._change(_sql.insert_frame(D, record)):
            return record, True
        assert record.idempotency_key is not None  # only a key can conflict (ids are random)
        winner = await self.get_by_idempotency_key(record.cam, record.idempotency_key)
        if winner is None:
            raise StorageError("idempotency conflict with a row that vanished; retry")
        return winner, False

    async def get_by_idempotency_key(self, cam: str, key: str) -> FrameRecord | None:
        row = await self._one(_sql.frame_by_idempotency(D, cam, key))
        return None if row is None else _sql.frame_from_row(row)

    async def get_frame(self, frame_id: str) -> FrameRecord | None:
        row = await self._one(_sql.frame_by_id(D, frame_id))
        return None if row is None else _sql.frame_from_row(row)

    async def list_frames(
        self,
        *,
        cam: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
        cursor: str | None = None,
        newest_first: bool = True,
    ) -> FramePage:
        query = _sql.list_frames(
            D,
            cam=cam,
            since=since,
            until=until,
            limit=limit,
            cursor=cursor,
            newest_first=newest_first,
        )
        return _sql.page_from_rows(await self._all(query), limit)

    async def list_cams(self) -> list[CamSummary]:
        return [_sql.cam_from_row(r) for r in await self._all(_sql.list_cams(D))]

    async def counts_per_hour(
        self, cam: str, since: float, until: float
    ) -> list[tuple[float, int]]:
        rows = await self._all(_sql.counts_per_hour(D, cam, since, until))
        return [(float(hour), int(count)) for hour, count in rows]

    async def delete_frame(self, frame_id: str) -> FrameRecord | None:
        def delete(conn: sqlite3.Connection) -> Any:
            sql, params = _sql.frame_by_id(D, frame_id)
            row = conn.execute(sql, params).fetchone()
            sql, params = _sql.delete_frame(D, frame_id)
            return row if conn.execute(sql, params).rowcount else None

        row = await self._run(delete)
        return None if row is None else _sql.frame_from_row(row)

    async def oldest_frames(
        self, cam: str, *, before: float | None = None, limit: int = 500
    ) -> list[FrameRecord]:
        rows = await self._all(_sql.oldest_frames(D, cam, before, limit))
        return [_sql.frame_from_row(r) for r in rows]

    async def add_token(self, token: TokenRecord) -> None:
        await self._change(_sql.add_token(D, token))

    async def token_by_hash(self, token_hash: str) -> TokenRecord | None:
        row = await self._one(_sql.token_by_hash(D, token_hash))
        return None if row is None else _sql.token_from_row(row)

    async def list_tokens(self) -> list[TokenRecord]:
        return [_sql.token_from_row(r) for r in await self._all(_sql.list_tokens(D))]

    async def revoke_token(self, token_id: str) -> bool:
        return bool(await self._change(_sql.revoke_token(D, token_id)))

    async def check(self) -> None:
        await self._one(("SELECT 1", ()))

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
