"""Helpers for the web, cam and gallery tests: a cheap argon2, a demo app, CSRF token scraping."""

from __future__ import annotations

import re
import secrets
from typing import Any

from argon2 import PasswordHasher
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from yardcam.web import (
    Accounts,
    Auth,
    LoginThrottle,
    SessionRegistry,
    WebSettings,
    csrf_token,
    web_middleware,
)

PASSWORD = "correct horse battery"
CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def build_app(
    accounts: Accounts,
    *,
    secure: bool,
    origins: tuple[str, ...] = (),
    registry: SessionRegistry | None = None,
) -> Starlette:
    throttle = LoginThrottle(max_failures=3, lockout=60)
    auth = Auth(accounts, throttle=throttle, registry=registry or SessionRegistry())

    async def secret(request: Request) -> Response:
        return PlainTextResponse(f"hello {await auth.user(request)}")

    async def token(request: Request) -> Response:
        return PlainTextResponse(f'<input name="csrf_token" value="{csrf_token(request)}">')

    async def act(request: Request) -> Response:
        return JSONResponse({"done": True, "body": (await request.body()).decode()})

    async def api(request: Request) -> Response:
        # Stands in for a bearer-token API: must see no session even if a cookie rides along.
        return JSONResponse({"session_user": request.session.get("user")})

    settings = WebSettings(
        secret_key=secrets.token_urlsafe(32),
        cookie_name="testapp",
        secure_cookies=secure,
        cors_origins=origins,
    )
    return Starlette(
        routes=[
            *auth.routes(),
            Route("/", auth.required(secret)),
            Route("/token", auth.required(token)),
            Route("/act", auth.required(act), methods=["POST"]),
            Route("/api", api, methods=["POST"]),
        ],
        middleware=web_middleware(settings),
    )


def form_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def submit_login(page: Any, password: str = PASSWORD) -> None:
    """Type ``owner``'s login into the login form on ``page`` (either app's) and send it."""
    page.fill("input[name=username]", "owner")
    page.fill("input[name=password]", password)
    page.click("form.login button[type=submit]")


def launch_chromium(playwright: Any) -> Any:
    """Debian's chromium (never a downloaded browser), headless."""
    return playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
