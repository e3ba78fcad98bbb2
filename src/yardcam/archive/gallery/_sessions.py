"""The gallery's logged-in sessions, kept in the archive's index: the one store that every node
of a scaled archive shares (nodes behind a load balancer share one PostgreSQL), so a logout or
a password change on any node ends the session on all of them, copied cookies included.

Rows are keyed by the SHA-256 of the session id, not the id itself: a leaked index (a backup,
a read-only replica) must not hand out live sessions. The id is random (192 bits), so an
unsalted hash is enough.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ...web import MAX_SESSIONS_PER_USER, LiveSession, new_session_id

if TYPE_CHECKING:
    from .._archive import Archive


def _key(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


class IndexSessions:
    """A :class:`yardcam.web.SessionStore` in ``archive.index`` (opened per call, so it may be
    made before the archive opens). Every call is a query: nothing is cached, so a logout on
    another node counts at once.
    """

    def __init__(
        self,
        archive: Archive,
        *,
        max_age: float = 12 * 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._archive = archive
        self._max_age = max_age
        self._clock = clock

    def now(self) -> float:
        return self._clock()

    async def start(self, user: str, *, remember: bool) -> str:
        sid = new_session_id()
        live = LiveSession.begin(user, remember=remember, now=self._clock(), max_age=self._max_age)
        await self._archive.index.add_session(_key(sid), live, keep=MAX_SESSIONS_PER_USER)
        return sid

    async def get(self, sid: object) -> LiveSession | None:
        if not isinstance(sid, str):
            return None
        live = await self._archive.index.get_session(_key(sid))
        return None if live is None or live.expires <= self._clock() else live

    async def revoke(self, sid: object) -> None:
        if isinstance(sid, str):
            await self._archive.index.delete_session(_key(sid))

    async def revoke_user(self, user: str) -> int:
        return await self._archive.index.delete_user_sessions(user)
