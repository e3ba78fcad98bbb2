"""What the cam dashboard and the archive gallery share: accounts, login, sessions, CSRF,
login throttling, security headers, CORS and first-run TLS.

Wiring an app::

    settings = WebSettings(secret_key=ensure_secret_key(data / "secret"), cookie_name="cam")
    sessions = SessionRegistry(data / "sessions.json")
    auth = Auth(Accounts(data / "users.json"), templates=make_templates(my_templates),
                registry=sessions)
    app = Starlette(routes=[*auth.routes(), Route("/", auth.required(home))],
                    middleware=web_middleware(settings))
"""

from ._accounts import Accounts, create_first_user
from ._auth import Auth
from ._bearer import JWT_LIFETIME, JwtSigner, parse_basic
from ._csrf import CSRFMiddleware, csrf_token, rotate_csrf_token, same_origin, token_matches
from ._headers import CONTENT_SECURITY_POLICY, SecurityHeadersMiddleware
from ._prompt import read_new_password
from ._secret_key import ensure_secret_key
from ._serving import Server, ServingLimits, raise_open_file_limit
from ._sessions import (
    FRESH_SECONDS,
    MAX_SESSIONS_PER_USER,
    REMEMBER_SECONDS,
    LiveSession,
    SessionMiddleware,
    SessionRegistry,
    SessionStore,
    new_session_id,
)
from ._settings import CORS_MAX_AGE, WebSettings, web_middleware
from ._templates import localtime, make_templates
from ._throttle import LoginThrottle
from ._time import browser_zone, zone_named
from ._tls import ensure_self_signed_cert

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "CORS_MAX_AGE",
    "FRESH_SECONDS",
    "JWT_LIFETIME",
    "MAX_SESSIONS_PER_USER",
    "REMEMBER_SECONDS",
    "Accounts",
    "Auth",
    "CSRFMiddleware",
    "JwtSigner",
    "LiveSession",
    "LoginThrottle",
    "SecurityHeadersMiddleware",
    "Server",
    "ServingLimits",
    "SessionMiddleware",
    "SessionRegistry",
    "SessionStore",
    "WebSettings",
    "browser_zone",
    "create_first_user",
    "csrf_token",
    "ensure_secret_key",
    "ensure_self_signed_cert",
    "localtime",
    "make_templates",
    "new_session_id",
    "parse_basic",
    "raise_open_file_limit",
    "read_new_password",
    "rotate_csrf_token",
    "same_origin",
    "token_matches",
    "web_middleware",
    "zone_named",
]
