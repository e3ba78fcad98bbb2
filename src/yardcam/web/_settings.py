"""What the two web apps configure about sessions, cookies and cross-origin access."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from ._csrf import CSRFMiddleware
from ._headers import SecurityHeadersMiddleware
from ._sessions import SessionMiddleware

CORS_MAX_AGE = 86400


@dataclass(frozen=True, slots=True)
class WebSettings:
    """``cookie_name`` must differ per app: cookies ignore ports, so a cam and an archive on one
    host would otherwise overwrite each other's sessions. ``secure_cookies=False`` is only for
    plain-http tests; a Secure cookie is never sent over http. ``session_max_age``: how long a
    login without "remember me" lasts at most (remembered ones: 30 days).
    """

    secret_key: str
    cookie_name: str = "yardcam_session"
    secure_cookies: bool = True
    same_site: Literal["lax", "strict"] = "lax"
    session_max_age: int = 12 * 3600
    cors_origins: tuple[str, ...] = ()
    hsts_max_age: int = 31_536_000

    def __post_init__(self) -> None:
        if len(self.secret_key) < 32:
            raise ValueError("secret_key must be at least 32 characters (see ensure_secret_key)")
        if self.same_site not in ("lax", "strict"):
            raise ValueError("same_site must be 'lax' or 'strict'")
        if "*" in self.cors_origins:
            raise ValueError("cors_origins must list origins; '*' is not allowed")


def web_middleware(settings: WebSettings) -> list[Middleware]:
    """The middleware stack, outermost first, for ``Starlette(middleware=...)``.

    Security headers wrap everything (errors included); CORS answers preflights before any
    session work; CSRF sits inside the session middleware because it reads the session's token.
    CORS is for the configured origins only and allows credentials (a panel page may send our
    cookie or an ``Authorization`` header), which is why ``*`` is refused in ``WebSettings``;
    session requests from those origins still need the CSRF token.
    """
    stack = [Middleware(SecurityHeadersMiddleware, hsts_max_age=settings.hsts_max_age)]
    if settings.cors_origins:
        stack.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
                allow_headers=[
                    "Authorization",
                    "Content-Type",
                    "Idempotency-Key",
                    "Last-Event-ID",
                    "X-CSRF-Token",
                ],
                allow_credentials=True,
                max_age=CORS_MAX_AGE,
            )
        )
    stack += [
        Middleware(
            SessionMiddleware,
            secret_key=settings.secret_key,
            session_cookie=settings.cookie_name,
            same_site=settings.same_site,
            https_only=settings.secure_cookies,
        ),
        Middleware(
            CSRFMiddleware,
            session_cookie=settings.cookie_name,
            trusted_origins=settings.cors_origins,
        ),
    ]
    return stack
