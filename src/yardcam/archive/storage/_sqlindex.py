"""What the SQLite and PostgreSQL indexes share: every query, built by ``_sql`` for a dialect.

A backend only says how to run a query (``_all``, ``_one``, ``_change``) and what its engine
does differently (opening and migrating under its lock, deleting with the old row, closing).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...web import LiveSession
from . import _sql
from ._migrations import MIGRATIONS, Migration
from ._types import (
    CamSummary,
    EventPage,
    EventSummary,
    FramePage,
    FrameRecord,
    StorageError,
    TokenRecord,
)


class SqlIndex:
    dialect: _sql.Dialect
    #: Applied at open (see ``_migrations``); an instance may be given another list by tests.
    migrations: tuple[Migration, ...] = MIGRATIONS

    async def _all(self, query: _sql.Query) -> list[Any]:
        raise NotImplementedError

    async def _one(self, query: _sql.Query) -> Any:
        raise NotImplementedError

    async def _change(self, query: _sql.Query) -> int:
        """Run a statement; the number of rows it changed."""
        raise NotImplementedError

    async def insert_frame(self, record: FrameRecord) -> tuple[FrameRecord, bool]:
        if await self._change(_sql.insert_frame(self.dialect, record)):
            return record, True
        assert record.idempotency_key is not None  # only a key can conflict (ids are random)
        winner = await self.get_by_idempotency_key(record.cam, record.idempotency_key)
        if winner is None:
            raise StorageError("idempotency conflict with a row that vanished; retry")
        return winner, False

    async def get_by_idempotency_key(self, cam: str, key: str) -> FrameRecord | None:
        row = await self._one(_sql.frame_by_idempotency(self.dialect, cam, key))
        return None if row is None else _sql.frame_from_row(row)

    async def existing_frame_ids(self, frame_ids: Sequence[str]) -> set[str]:
        if not frame_ids:
            return set()
        return {row[0] for row in await self._all(_sql.existing_frame_ids(self.dialect, frame_ids))}

    async def get_frame(self, frame_id: str) -> FrameRecord | None:
        row = await self._one(_sql.frame_by_id(self.dialect, frame_id))
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
            self.dialect,
            cam=cam,
            since=since,
            until=until,
            limit=limit,
            cursor=cursor,
            newest_first=newest_first,
        )
        return _sql.page_from_rows(await self._all(query), limit)

    async def list_events(
        self,
        cam: str,
        *,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> EventPage:
        query = _sql.event_page_keys(
            self.dialect, cam, since=since, until=until, limit=limit, cursor=cursor
        )
        keys = [row[0] for row in await self._all(query)]
        if not keys:
            return _sql.event_page([], [], limit)
        rows = await self._all(_sql.event_summaries(self.dialect, cam, keys))
        return _sql.event_page(keys, rows, limit)

    async def get_event(
        self, cam: str, event: str, *, limit: int = 1000
    ) -> tuple[EventSummary, list[FrameRecord]] | None:
        row = await self._one(_sql.event_summaries(self.dialect, cam, [event]))
        if row is None:
            return None
        rows = await self._all(_sql.event_frames(self.dialect, cam, event, limit))
        return _sql.event_from_row(row), [_sql.frame_from_row(r) for r in rows]

    async def list_cams(self) -> list[CamSummary]:
        return [_sql.cam_from_row(r) for r in await self._all(_sql.list_cams(self.dialect))]

    async def counts_per_hour(
        self, cam: str, since: float, until: float
    ) -> list[tuple[float, int]]:
        rows = await self._all(_sql.counts_per_hour(self.dialect, cam, since, until))
        return [(since + 3600 * int(hours), int(count)) for hours, count in rows]

    async def oldest_frames(
        self, cam: str, *, before: float | None = None, limit: int = 500
    ) -> list[FrameRecord]:
        rows = await self._all(_sql.oldest_frames(self.dialect, cam, before, limit))
        return [_sql.frame_from_row(r) for r in rows]

    async def add_token(self, token: TokenRecord) -> None:
        await self._change(_sql.add_token(self.dialect, token))

    async def token_by_hash(self, token_hash: str) -> TokenRecord | None:
        row = await self._one(_sql.token_by_hash(self.dialect, token_hash))
        return None if row is None else _sql.token_from_row(row)

    async def list_tokens(self) -> list[TokenRecord]:
        return [_sql.token_from_row(r) for r in await self._all(_sql.list_tokens(self.dialect))]

    async def revoke_token(self, token_id: str) -> bool:
        return bool(await self._change(_sql.revoke_token(self.dialect, token_id)))

    async def add_session(self, key: str, session: LiveSession, *, keep: int) -> None:
        await self._change(_sql.delete_expired_sessions(self.dialect, session.created))
        await self._change(_sql.add_session(self.dialect, key, session))
        await self._change(_sql.trim_user_sessions(self.dialect, session.user, keep))

    async def get_session(self, key: str) -> LiveSession | None:
        row = await self._one(_sql.session_by_key(self.dialect, key))
        return None if row is None else _sql.session_from_row(row)

    async def delete_session(self, key: str) -> None:
        await self._change(_sql.delete_session(self.dialect, key))

    async def delete_user_sessions(self, user: str) -> int:
        return await self._change(_sql.delete_user_sessions(self.dialect, user))

    async def check(self) -> None:
        await self._one(("SELECT 1", ()))
