"""``postgresql://...`` index: psycopg 3 async with a connection pool, shared by many nodes.

PostgreSQL's unique constraint on ``(cam, idempotency_key)`` settles races between nodes: a
concurrent insert of the same key waits for the first to commit, then does nothing, and the
follow-up select (a new snapshot under READ COMMITTED) sees the winner.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from . import _migrations, _sql
from ._sqlindex import SqlIndex
from ._types import FrameRecord, StorageError

# Serialises migrations across nodes: held for the migrating transaction, so a node that starts
# while another migrates waits, then reads the new version and has nothing to do. (Concurrent
# CREATE TABLE IF NOT EXISTS alone can still fail on PostgreSQL.)
_SCHEMA_LOCK = 0x79617264


class PostgresIndex(SqlIndex):
    dialect = _sql.POSTGRES

    def __init__(self, url: str, *, max_connections: int = 10) -> None:
        self.url = url
        self._pool = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=max_connections,
            kwargs={"autocommit": True},
            open=False,
        )

    async def open(self) -> None:
        try:
            # One direct connection first: a wrong URL or a server that is down fails at once
            # with the driver's own message, instead of after the pool's retry timeout.
            probe = await psycopg.AsyncConnection.connect(self.url, connect_timeout=10)
            await probe.close()
            await self._pool.open(wait=True, timeout=15)
            await self._migrate()
        except (psycopg.Error, TimeoutError) as exc:
            await self._pool.close()
            raise StorageError(f"postgresql: {exc}") from exc
        except BaseException:
            await self._pool.close()
            raise

    async def _migrate(self) -> None:
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            await conn.execute(_migrations.CREATE_VERSION_TABLE)
            cur = await conn.execute(_migrations.READ_VERSION)
            rows = await cur.fetchall()
            for sql, params in _migrations.upgrade(self.dialect, rows, self.migrations):
                await conn.execute(sql, params)

    async def _run(self, query: _sql.Query, *, fetch: bool) -> tuple[list[Any], int]:
        try:
            async with self._pool.connection() as conn:
                cur = await conn.execute(query[0], query[1])
                return (await cur.fetchall() if fetch else []), cur.rowcount
        except psycopg.Error as exc:
            raise StorageError(f"postgresql: {exc}") from exc

    async def _all(self, query: _sql.Query) -> list[Any]:
        return (await self._run(query, fetch=True))[0]

    async def _one(self, query: _sql.Query) -> Any:
        rows = await self._all(query)
        return rows[0] if rows else None

    async def _change(self, query: _sql.Query) -> int:
        return (await self._run(query, fetch=False))[1]

    async def delete_frame(self, frame_id: str) -> FrameRecord | None:
        sql, params = _sql.delete_frame(self.dialect, frame_id)
        rows = await self._all((f"{sql} RETURNING {_sql.FRAME_COLUMNS}", params))
        return _sql.frame_from_row(rows[0]) if rows else None

    async def close(self) -> None:
        await self._pool.close()
