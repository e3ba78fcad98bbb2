"""Who is asking, and may they: the session of a browser, or a script's credentials.

Ways in, checked in this order:

==========================  =====================  ========  ===============================
credential                   how                    scope     ends when
==========================  =====================  ========  ===============================
``Bearer ycam_...``          API token (CLI)        its own   ``yardcam token revoke``
``Bearer <JWT>``             ``POST /api/login``    control   1 h, secret file deleted,
                                                              password changed
``Basic user:pass``          each request, HTTPS    control   password changed
session cookie               ``/login`` form        control   logout, password change
==========================  =====================  ========  ===============================

An ``Authorization`` header that is present but wrong is refused outright (never falls back to
the cookie riding along): a script must learn its token is dead. Basic is refused over plain
http and throttled with the login form's budget.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from ..web import Auth, JwtSigner, parse_basic
from ._tokens import PREFIX, ApiTokens, Scope

Via = Literal["session", "jwt", "basic", "token"]
Endpoint = Callable[[Request], Awaitable[Response]]
_RANK = {"read": 0, "control": 1}


@dataclass(frozen=True, slots=True)
class Principal:
    name: str  # a username, or "token:<name>"
    scope: Scope
    via: Via


@dataclass(frozen=True, slots=True)
class Refusal:
    status: int
    reason: str
    retry_after: int | None = None

    def response(self) -> Response:
        headers = {"cache-control": "no-store"}
        if self.status == 401:
            headers["www-authenticate"] = 'Bearer realm="yardcam", Basic realm="yardcam"'
        if self.retry_after is not None:
            headers["retry-after"] = str(self.retry_after)
        return JSONResponse({"error": self.reason}, status_code=self.status, headers=headers)


_LOGIN = Refusal(401, "login required: a session, a Bearer token or HTTP Basic")


class Access:
    def __init__(self, auth: Auth, jwt: JwtSigner, tokens: ApiTokens) -> None:
        self.auth = auth
        self.jwt = jwt
        self.tokens = tokens

    async def identify(self, connection: HTTPConnection) -> Principal | Refusal:
        header = connection.headers.get("authorization")
        if header is None:
            user = await self.auth.user(connection)
            return _LOGIN if user is None else Principal(user, "control", "session")
        scheme, _, credential = header.partition(" ")
        scheme = scheme.lower()
        credential = credential.strip()
        if scheme == "bearer" and credential.startswith(PREFIX):
            token = self.tokens.check(credential)
            if token is None:
                return Refusal(401, "unknown or revoked API token")
            return Principal(f"token:{token.name}", token.scope, "token")
        if scheme == "bearer":
            return self.jwt_principal(credential)
        if scheme == "basic":
            return await self._basic(connection, header)
        return Refusal(401, "unsupported Authorization scheme: use Bearer or Basic")

    def jwt_principal(self, credential: str) -> Principal | Refusal:
        claims = self.jwt.verify(credential)
        if claims is None:
            return Refusal(401, "invalid or expired token: POST /api/login for a new one")
        user, tag = claims
        if tag != self.auth.accounts.session_tag(user):
            return Refusal(401, "token issued before a password change: log in again")
        return Principal(user, "control", "jwt")

    async def _basic(self, connection: HTTPConnection, header: str) -> Principal | Refusal:
        if connection.url.scheme not in ("https", "wss"):
            return Refusal(401, "HTTP Basic is only accepted over https")
        parsed = parse_basic(header)
        if parsed is None:
            return Refusal(401, "malformed Basic credentials")
        user, password = parsed
        address = connection.client.host if connection.client else "unknown"
        verdict = await run_in_threadpool(self.auth.verify_throttled, user, password, address)
        if verdict is True:
            return Principal(user, "control", "basic")
        if verdict is False:
            return Refusal(401, "wrong username or password")
        return Refusal(429, f"too many failed attempts; try again in {verdict} s", verdict)

    async def allowed(self, connection: HTTPConnection, scope: Scope) -> Principal | Refusal:
        who = await self.identify(connection)
        if isinstance(who, Principal) and _RANK[who.scope] < _RANK[scope]:
            return Refusal(403, f"this token's scope is {who.scope!r}; {scope!r} is needed")
        return who

    def require(self, scope: Scope) -> Callable[[Endpoint], Endpoint]:
        """Guard an API endpoint; it finds the caller in ``request.state.principal``."""

        def decorate(endpoint: Endpoint) -> Endpoint:
            @functools.wraps(endpoint)
            async def guarded(request: Request) -> Response:
                who = await self.allowed(request, scope)
                if isinstance(who, Refusal):
                    return who.response()
                request.state.principal = who
                response = await endpoint(request)
                response.headers.setdefault("cache-control", "no-store")
                return response

            return guarded

        return decorate

    def page(self, endpoint: Endpoint) -> Endpoint:
        """Guard an HTML page: browsers only, so a session or the login page."""

        @functools.wraps(endpoint)
        async def guarded(request: Request) -> Response:
            if await self.auth.user(request) is None:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
            response = await endpoint(request)
            response.headers.setdefault("cache-control", "no-store")
            return response

        return guarded
