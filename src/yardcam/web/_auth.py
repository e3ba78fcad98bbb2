"""Login, logout, password change and the ``required`` guard for pages and APIs behind a login.

A session holds the username, a fingerprint of the user's password hash (so a password change or
removal made anywhere, the CLI included, ends every session at once), the id under which the
app's :class:`SessionStore` knows it (so logout ends it on the server, copied cookies included)
and the CSRF token, which is replaced at login so a token planted before login is worthless
after it. An app served by several nodes gives them one store they share (the archive: its
index database), so a logout on any node ends the session on all. Changing the password (and,
on the cam, making an API token) asks for a fresh login within 10 minutes, through
:meth:`Auth.unless_fresh`: a borrowed, unlocked browser must not be enough to lock the owner
out or to mint a key that outlives them.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl, quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from ._accounts import Accounts
from ._csrf import rotate_csrf_token, token_matches
from ._sessions import LiveSession, SessionStore
from ._templates import STATIC_DIR, STATIC_PATH, make_templates
from ._throttle import LoginThrottle

Endpoint = Callable[[Request], Awaitable[Response]]
_MAX_FORM = 8 * 1024


class Auth:
    """Session login for one app; ``routes()`` go into the app, ``required`` guards endpoints.

    ``registry``: where logged-in sessions are known on the server (revocable: logout, password
    change); its own ``max_age`` is how long a login without "remember me" lasts.
    """

    def __init__(
        self,
        accounts: Accounts,
        *,
        templates: Jinja2Templates | None = None,
        throttle: LoginThrottle | None = None,
        home: str = "/",
        registry: SessionStore,
    ) -> None:
        self.accounts = accounts
        self.templates = templates or make_templates(home=home)
        self.throttle = throttle or LoginThrottle()
        self.home = home
        self.registry = registry

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/login", self._login_page, methods=["GET"]),
            Route("/login", self._login, methods=["POST"]),
            Route("/logout", self._logout, methods=["POST"]),
            Route("/account/password", self._password_page, methods=["GET"]),
            Route("/account/password", self._change_password, methods=["POST"]),
            Mount(STATIC_PATH, StaticFiles(directory=STATIC_DIR), name="web-static"),
        ]

    async def user(self, connection: HTTPConnection) -> str | None:
        """The logged-in username, or None: also when the password changed since login, or the
        session was ended on the server (logout elsewhere, a copied cookie).
        """
        live = await self._live(connection)
        return None if live is None else live.user

    async def is_fresh(self, connection: HTTPConnection) -> bool:
        """Was the password typed in this session within the last 10 minutes?"""
        live = await self._live(connection)
        return live is not None and live.is_fresh(self.registry.now())

    async def _live(self, connection: HTTPConnection) -> LiveSession | None:
        session = connection.session
        username = session.get("user")
        if not isinstance(username, str):
            return None
        live = await self.registry.get(session.get("sid"))
        if (
            live is None
            or live.user != username
            or session.get("tag") != self.accounts.session_tag(username)
        ):
            session.clear()
            return None
        return live

    def fresh_login_url(self, next_url: str) -> str:
        return f"/login?fresh=1&next={quote(next_url)}"

    async def unless_fresh(self, request: Request, next_url: str) -> Response | None:
        """None when the password was typed in this session within 10 minutes; otherwise where
        the browser goes first: the login page, or its "confirm it is you" form when the login
        is older, then back to ``next_url``. The one guard of every sensitive page (password
        change, API tokens), so they all ask the same way.
        """
        if await self.user(request) is None:
            return self._unauthenticated(request)
        if not await self.is_fresh(request):
            return RedirectResponse(self.fresh_login_url(next_url), status_code=303)
        return None

    def verify_throttled(self, username: str, password: str, address: str) -> int | bool:
        """For credentials sent with a request (HTTP Basic): True/False, or the seconds to wait
        when this user/address is locked out. Same budget as the login form. Blocking (argon2):
        call it from a worker thread.
        """
        wait = self.throttle.retry_after(username, address)
        if wait is not None:
            return wait
        if not self.accounts.verify(username, password):
            self.throttle.failed(username, address)
            return False
        self.throttle.succeeded(username, address)
        return True

    def required(self, endpoint: Endpoint) -> Endpoint:
        """Guard an endpoint: pages redirect to the login page, everything else gets 401 JSON.

        Responses behind a login default to ``Cache-Control: no-store`` so a shared browser's
        cache never keeps them; endpoints may set their own (e.g. private caching of images).
        """

        @functools.wraps(endpoint)
        async def guarded(request: Request) -> Response:
            if await self.user(request) is None:
                return self._unauthenticated(request)
            response = await endpoint(request)
            response.headers.setdefault("cache-control", "no-store")
            return response

        return guarded

    def _unauthenticated(self, request: Request) -> Response:
        wants_page = request.method == "GET" and "text/html" in request.headers.get("accept", "")
        if wants_page:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        return JSONResponse({"error": "login required"}, status_code=401)

    async def _login_page(self, request: Request) -> Response:
        next_url = _safe_next(request.query_params.get("next"), self.home)
        user = await self.user(request)
        if user is not None and not request.query_params.get("fresh"):
            return RedirectResponse(next_url, status_code=303)
        return self._render_login(request, next_url=next_url, username=user or "")

    async def _login(self, request: Request) -> Response:
        fields = await _small_form(request)
        if fields is None:
            return JSONResponse({"error": "login form too large"}, status_code=413)
        username = fields.get("username", "").strip()
        password = fields.get("password", "")
        next_url = _safe_next(fields.get("next"), self.home)
        if not token_matches(request.session, fields.get("csrf_token")):
            # Also covers a first visit with no session cookie at all (login CSRF).
            error = "Your session expired; please try again."
            return self._render_login(request, next_url, username, error, status=403)
        address = request.client.host if request.client else "unknown"
        wait = self.throttle.retry_after(username, address)
        if wait is not None:
            error = f"Too many failed attempts; try again in {wait} s."
            response = self._render_login(request, next_url, username, error, status=429)
            response.headers["retry-after"] = str(wait)
            return response
        if not await run_in_threadpool(self.accounts.verify, username, password):
            self.throttle.failed(username, address)
            error = "Wrong username or password."
            return self._render_login(request, next_url, username, error, status=401)
        self.throttle.succeeded(username, address)
        await self._start_session(request, username, remember=fields.get("remember") == "on")
        return RedirectResponse(next_url, status_code=303)

    async def _start_session(self, request: Request, username: str, *, remember: bool) -> None:
        await self.registry.revoke(request.session.get("sid"))  # a re-login replaces it
        session = request.session
        session.clear()
        session["user"] = username
        session["tag"] = self.accounts.session_tag(username)
        session["sid"] = await self.registry.start(username, remember=remember)
        if remember:
            session["remember"] = True
        rotate_csrf_token(session)

    async def _logout(self, request: Request) -> Response:
        await self.registry.revoke(request.session.get("sid"))
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    async def _password_page(self, request: Request) -> Response:
        if (first := await self.unless_fresh(request, "/account/password")) is not None:
            return first
        return self._render_password(request)

    async def _change_password(self, request: Request) -> Response:
        """The current password, then the new one twice; ends every other session of the user
        (copied cookies, other browsers, the CLI's JWTs) and keeps this one logged in under a
        new session id. The current password is asked even of a fresh session, so that a
        session taken over (a stolen cookie) cannot lock its owner out; wrong guesses count
        against the login throttle.
        """
        if (first := await self.unless_fresh(request, "/account/password")) is not None:
            return first
        user = await self.user(request)
        assert user is not None  # unless_fresh sent everyone else to the login page
        fields = await _small_form(request)
        if fields is None:
            return JSONResponse({"error": "form too large"}, status_code=413)
        address = request.client.host if request.client else "unknown"
        current = fields.get("current_password", "")
        checked = await run_in_threadpool(self.verify_throttled, user, current, address)
        if checked is not True:
            wait = "" if checked is False else f" Too many tries: wait {checked} s."
            return self._render_password(
                request, f"The current password is wrong.{wait}", status=400
            )
        new, again = fields.get("new_password", ""), fields.get("again", "")
        if new != again:
            return self._render_password(request, "The two passwords differ.", status=400)
        try:
            await run_in_threadpool(self.accounts.set_password, user, new)
        except ValueError as exc:
            return self._render_password(request, f"{str(exc).capitalize()}.", status=400)
        await self.registry.revoke_user(user)
        await self._start_session(request, user, remember=bool(request.session.get("remember")))
        return self._render_password(request, done=True)

    def _render_password(
        self, request: Request, error: str = "", *, status: int = 200, done: bool = False
    ) -> Response:
        context = {"error": error, "done": done}
        response = self.templates.TemplateResponse(
            request, "password.html", context, status_code=status
        )
        response.headers["cache-control"] = "no-store"
        return response

    def _render_login(
        self,
        request: Request,
        next_url: str,
        username: str = "",
        error: str = "",
        *,
        status: int = 200,
    ) -> Response:
        context = {
            "next": next_url,
            "username": username,
            "error": error,
            "fresh": bool(request.query_params.get("fresh")),
        }
        response = self.templates.TemplateResponse(
            request, "login.html", context, status_code=status
        )
        response.headers["cache-control"] = "no-store"
        return response


async def _small_form(request: Request) -> dict[str, str] | None:
    """The url-encoded login form, or None past ``_MAX_FORM``: anyone may post here, so the
    body is capped while it streams in, never read whole first. Other encodings parse as empty
    (and fail the CSRF check); the login page only ever sends this one.
    """
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > _MAX_FORM:
            return None
    try:
        pairs = parse_qsl(body.decode("utf-8"), max_num_fields=16)
    except (UnicodeDecodeError, ValueError):
        return {}
    return dict(pairs)


def _safe_next(target: str | None, default: str) -> str:
    """Only same-site paths: never ``//evil.example`` or ``/\\evil.example`` (open redirect)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    return target
