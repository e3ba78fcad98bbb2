"""``postgresql://...`` index: psycopg 3 async with a connection pool, shared by many nodes.

PostgreSQL's unique constraint on ``(cam, idempotency_key)`` settles races between nodes: a
concurrent insert of the same key waits for the first to commit, then does nothing, and the
follow-up select (a new snapshot under READ COMMITTED) sees the winner.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from . import _sql
from ._types import CamSummary, FramePage, FrameRecord, StorageError, TokenRecord

D = _sql.POSTGRES
# Serialises schema creation across nodes: concurrent CREATE TABLE IF NOT EXISTS can still fail.
_SCHEMA_LOCK = 0x79617264


class PostgresIndex:
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
            async with self._pool.connection() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                for statement in _sql.SCHEMA:
                    await conn.execute(statement)
        except (psycopg.Error, TimeoutError) as exc:
            await self._pool.close()
            raise StorageError(f"postgresql: {exc}") from exc

    async def _all(self, query: _sql.Query) -> list[Any]:
        try:
            async with self._pool.connection() as conn:
                cur = await conn.execute(query[0], query[1])
                return await cur.fetchall()
        except psycopg.Error as exc:
            raise StorageError(f"postgresql: {exc}") from exc

    async def _one(self, query: _sql.Query) -> Any:
        rows = await self._all(query)
        return rows[0] if rows else None

    async def _change(self, query: _sql.Query, returning: str = "") -> list[Any]:
        sql = query[0] + (f" RETURNING {returning}" if returning else "")
        try:
            async with self._pool.connection() as conn:
                cur = await conn.execute(sql, query[1])
                return await cur.fetchall() if returning else [None] * cur.rowcount
        except psycopg.Error as exc:
            raise StorageError(f"postgresql: {exc}") from exc

    async def insert_frame(self, record: FrameRecord) -> tuple[FrameRecord, bool]:
        if await self._change(_sql.insert_frame(D, record), returning="id"):
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
        rows = await self._change(_sql.delete_frame(D, frame_id), returning=_sql.FRAME_COLUMNS)
        return _sql.frame_from_row(rows[0]) if rows else None

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
        await self._pool.close()
