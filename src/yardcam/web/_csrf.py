"""CSRF protection: the session's token AND a same-origin check on every unsafe request.

A browser attaches the session cookie to any request, including one forged by another site, so a
cookie alone cannot prove intent. Every POST/PUT/PATCH/DELETE that arrives with session
credentials must carry the session's token, either in the ``X-CSRF-Token`` header (fetch) or in
a ``csrf_token`` field of a url-encoded form, and must not come from another site: a browser's
``Sec-Fetch-Site`` must be ``same-origin`` (or ``none``: typed by the user) and its ``Origin``
this server's own or a configured CORS origin. Either check alone has failed in the wild (a token
leaked into a log or a page; an old browser without the headers), so both are required.

Requests carrying ``Authorization: Bearer`` or ``Basic`` are exempt, because no browser adds
those on its own to a forged request; they are also handed an empty session, so such a request
can never act on the strength of a cookie that happens to ride along.

Multipart forms must use the header: parsing a multipart body here would mean buffering uploads.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping, MutableMapping
from typing import Any
from urllib.parse import parse_qs

from starlette.datastructures import Headers
from starlette.middleware.sessions import Session
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_KEY = "csrf"
FORM_FIELD = "csrf_token"
HEADER = "x-csrf-token"
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_MAX_FORM = 64 * 1024


def csrf_token(connection: HTTPConnection) -> str:
    """The session's CSRF token, created on first use (put it in every form you render)."""
    session = connection.session
    token = session.get(SESSION_KEY)
    if not isinstance(token, str):
        token = session[SESSION_KEY] = secrets.token_urlsafe(32)
    return token


def rotate_csrf_token(session: MutableMapping[str, Any]) -> str:
    """A fresh token, e.g. at login, so a token seen before login is useless after it."""
    token = session[SESSION_KEY] = secrets.token_urlsafe(32)
    return token


def token_matches(session: Mapping[str, Any], submitted: str | None) -> bool:
    expected = session.get(SESSION_KEY)
    if not isinstance(expected, str) or not submitted:
        return False
    return hmac.compare_digest(expected.encode(), submitted.encode())


class CSRFMiddleware:
    """Refuses unsafe requests that bear session credentials but not the session's token.

    Install it inside (after) Starlette's ``SessionMiddleware``; it reads ``scope["session"]``.
    """

    def __init__(
        self, app: ASGIApp, *, session_cookie: str, trusted_origins: tuple[str, ...] = ()
    ) -> None:
        self.app = app
        self.session_cookie = session_cookie
        self.trusted_origins = frozenset(trusted_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _UNSAFE:
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        headers = connection.headers
        if headers.get("authorization", "").lower().startswith(("bearer ", "basic ")):
            await self.app({**scope, "session": Session()}, receive, send)
            return
        if self.session_cookie not in connection.cookies:
            # No ambient credentials, nothing to forge; endpoints needing a login refuse it.
            await self.app(scope, receive, send)
            return
        if not same_origin(connection, self.trusted_origins):
            reason = "cross-site request refused; use this site's own pages"
            await _refuse(403, reason, scope, receive, send)
            return
        submitted = headers.get(HEADER)
        if submitted is None and _is_urlencoded(headers):
            body, receive = await _buffer_form(receive)
            if body is None:
                await _refuse(413, "form too large", scope, receive, send)
                return
            submitted = _form_field(body)
        if not token_matches(scope["session"], submitted):
            reason = "missing or invalid CSRF token; reload the page"
            await _refuse(403, reason, scope, receive, send)
            return
        await self.app(scope, receive, send)


def same_origin(connection: HTTPConnection, trusted: frozenset[str] = frozenset()) -> bool:
    """Did a browser send this from our own pages (or a trusted origin's)? Requests without
    ``Origin`` and ``Sec-Fetch-Site`` (scripts, old browsers) pass: the token still guards them.
    Also checked on WebSocket handshakes (cross-site WebSocket hijacking).
    """
    headers = connection.headers
    origin = headers.get("origin")
    if origin is not None and origin != own_origin(connection) and origin not in trusted:
        return False
    site = headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return origin is not None and origin in trusted
    return True


def own_origin(connection: HTTPConnection) -> str:
    scheme = {"wss": "https", "ws": "http"}.get(connection.url.scheme, connection.url.scheme)
    return f"{scheme}://{connection.headers.get('host', '')}"


def _is_urlencoded(headers: Headers) -> bool:
    media_type = headers.get("content-type", "").split(";")[0].strip().lower()
    return media_type == "application/x-www-form-urlencoded"


async def _buffer_form(receive: Receive) -> tuple[bytes | None, Receive]:
    """Read the whole (small) form body, and a ``receive`` that replays it to the endpoint."""
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > _MAX_FORM:
            return None, receive
        chunks.append(chunk)
        more = message.get("more_body", False)
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return body, replay


def _form_field(body: bytes) -> str | None:
    try:
        values = parse_qs(body.decode("utf-8"), max_num_fields=1000).get(FORM_FIELD)
    except (UnicodeDecodeError, ValueError):
        return None
    return values[0] if values else None


async def _refuse(status: int, reason: str, scope: Scope, receive: Receive, send: Send) -> None:
    await JSONResponse({"error": reason}, status_code=status)(scope, receive, send)
