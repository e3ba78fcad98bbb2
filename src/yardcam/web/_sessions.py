"""Sessions: a signed cookie for what the browser carries, a server-side store for who is in.

The cookie (signed with the app's secret, like Starlette's) holds the CSRF token before login
and, after it, the username and a random session id. A signature alone cannot be taken back, so
a logged-in session is only valid while its id is in the app's :class:`SessionStore`: logout and
a password change delete ids, and a copied cookie dies with its original.

Two stores keep the one :class:`LiveSession`: :class:`SessionRegistry`, a file for one process
(the cam), and the archive's index, a database every node of a scaled archive shares (so a
logout on one node ends the session on all of them). The store is async because the second
one is a database.

"Remember me" sessions get a cookie with ``Max-Age`` of 30 days; the others a browser-session
cookie (no ``Max-Age``), which the store also expires after ``session_max_age`` seconds in
case the browser is never closed.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from base64 import b64decode, b64encode
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal, Protocol

import itsdangerous
from itsdangerous.exc import BadSignature
from starlette.datastructures import MutableHeaders
from starlette.middleware.sessions import Session
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..durable import write_atomic

log = logging.getLogger(__name__)

REMEMBER_SECONDS = 30 * 24 * 3600
FRESH_SECONDS = 10 * 60  # a login this recent may change the password or create a token
MAX_SESSIONS_PER_USER = 64  # the oldest sessions of a user go first past this


@dataclass(slots=True)
class LiveSession:
    """One logged-in session as a store keeps it (by a random id the cookie carries)."""

    user: str
    remember: bool
    created: float
    authenticated: float  # when the password was last typed in this session
    expires: float

    @classmethod
    def begin(cls, user: str, *, remember: bool, now: float, max_age: float) -> LiveSession:
        """A session freshly authenticated at ``now``: 30 days with "remember me", else
        ``max_age`` seconds."""
        return cls(user, remember, now, now, now + (REMEMBER_SECONDS if remember else max_age))

    def is_fresh(self, now: float) -> bool:
        return now - self.authenticated < FRESH_SECONDS


def new_session_id() -> str:
    return secrets.token_urlsafe(24)


class SessionStore(Protocol):
    """Where an app's logged-in sessions are known on the server, by id.

    ``get`` answers None for an unknown or expired id (and for anything not a str: the id
    comes from a cookie); ``start`` keeps at most :data:`MAX_SESSIONS_PER_USER` per user,
    ending the oldest.
    """

    async def start(self, user: str, *, remember: bool) -> str:
        """A new session id for ``user``, freshly authenticated."""
        ...

    async def get(self, sid: object) -> LiveSession | None: ...

    async def revoke(self, sid: object) -> None: ...

    async def revoke_user(self, user: str) -> int:
        """End every session of ``user`` (password change, removal); how many there were."""
        ...

    def now(self) -> float:
        """The store's clock (expiry, freshness): ``time.time()`` but in tests."""
        ...


class SessionRegistry:
    """A :class:`SessionStore` for one process: kept in ``path`` (0600) so the sessions
    survive a restart, or in memory when ``path`` is None. Thread-safe; every change is
    written at once (logins and logouts are rare), with no I/O but that small file.
    """

    def __init__(
        self,
        path: Path | None = None,
        *,
        max_age: float = 12 * 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._path = path
        self._max_age = max_age
        self._clock = clock
        self._lock = threading.Lock()
        self._live: dict[str, LiveSession] = self._load()

    async def start(self, user: str, *, remember: bool) -> str:
        now = self._clock()
        sid = new_session_id()
        with self._lock:
            self._expire(now)
            mine = sorted((s.created, k) for k, s in self._live.items() if s.user == user)
            for _, old in mine[: max(0, len(mine) - MAX_SESSIONS_PER_USER + 1)]:
                del self._live[old]
            self._live[sid] = LiveSession.begin(
                user, remember=remember, now=now, max_age=self._max_age
            )
            self._save()
        return sid

    async def get(self, sid: object) -> LiveSession | None:
        if not isinstance(sid, str):
            return None
        with self._lock:
            live = self._live.get(sid)
            if live is not None and live.expires <= self._clock():
                del self._live[sid]
                self._save()
                return None
            return live

    def now(self) -> float:
        return self._clock()

    async def revoke(self, sid: object) -> None:
        with self._lock:
            if isinstance(sid, str) and self._live.pop(sid, None) is not None:
                self._save()

    async def revoke_user(self, user: str) -> int:
        with self._lock:
            gone = [sid for sid, live in self._live.items() if live.user == user]
            for sid in gone:
                del self._live[sid]
            if gone:
                self._save()
            return len(gone)

    def _expire(self, now: float) -> None:
        for sid in [sid for sid, live in self._live.items() if live.expires <= now]:
            del self._live[sid]

    def _load(self) -> dict[str, LiveSession]:
        if self._path is None:
            return {}
        try:
            doc = json.loads(self._path.read_text(encoding="utf-8"))
            return {sid: LiveSession(**fields) for sid, fields in doc["sessions"].items()}
        except FileNotFoundError:
            return {}
        except (ValueError, KeyError, TypeError) as exc:
            # Losing the registry only logs everybody out: say so, never refuse to start.
            log.error("%s is unreadable (%s); everybody logs in again", self._path, exc)
            return {}

    def _save(self) -> None:
        if self._path is None:
            return
        doc = {"version": 1, "sessions": {sid: asdict(s) for sid, s in self._live.items()}}
        write_atomic(self._path, json.dumps(doc).encode())


class SessionMiddleware:
    """Starlette's signed-cookie session, with a per-session cookie lifetime: ``Max-Age`` of
    30 days when the session holds ``remember: true``, a browser-session cookie otherwise.
    Works for http and websocket scopes (a WebSocket handshake carries the cookie too).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        secret_key: str,
        session_cookie: str,
        same_site: Literal["lax", "strict"] = "lax",
        https_only: bool = True,
    ) -> None:
        self.app = app
        self.signer = itsdangerous.TimestampSigner(secret_key)
        self.cookie = session_cookie
        self.flags = f"path=/; httponly; samesite={same_site}" + ("; secure" if https_only else "")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        raw = HTTPConnection(scope).cookies.get(self.cookie)
        session = Session(self._decode(raw)) if raw else Session()
        scope["session"] = session

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if session.accessed:
                    headers.add_vary_header("Cookie")
                if session.modified and session:
                    value = self.signer.sign(b64encode(json.dumps(session).encode())).decode()
                    max_age = f"; max-age={REMEMBER_SECONDS}" if session.get("remember") else ""
                    headers.append("set-cookie", f"{self.cookie}={value}{max_age}; {self.flags}")
                elif session.modified and raw:
                    headers.append(
                        "set-cookie",
                        f"{self.cookie}=null; expires=Thu, 01 Jan 1970 00:00:00 GMT; {self.flags}",
                    )
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _decode(self, raw: str) -> dict[str, object]:
        try:
            data = json.loads(b64decode(self.signer.unsign(raw, max_age=REMEMBER_SECONDS)))
        except (BadSignature, ValueError):
            return {}
        return data if isinstance(data, dict) else {}
