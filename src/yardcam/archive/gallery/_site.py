"""Everything an archive node needs to serve the gallery, made from its ``ArchiveSettings``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, tzinfo
from typing import TYPE_CHECKING

from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from ...web import Accounts, WebSettings, ensure_secret_key, web_middleware
from ._routes import gallery_auth, gallery_routes

if TYPE_CHECKING:
    from .._archive import Archive
    from .._settings import ArchiveSettings

COOKIE_NAME = "yardcam_archive"  # distinct from the cam's: cookies ignore ports


@dataclass(frozen=True, slots=True)
class Gallery:
    """``routes`` and ``middleware`` go into the archive's Starlette app; ``accounts`` holds the
    gallery's users (``accounts.set_password(name, pw)`` creates one; the file is re-read live).
    """

    routes: list[BaseRoute]
    middleware: list[Middleware]
    accounts: Accounts


def build_gallery(settings: ArchiveSettings, archive: Archive, *, tz: tzinfo = UTC) -> Gallery:
    """Users from ``settings.accounts_path``; the session secret from settings or, if unset,
    from ``<data_dir>/session_secret`` (created on first run, so sessions survive restarts).
    """
    secret = settings.session_secret or ensure_secret_key(settings.data_dir / "session_secret")
    web = WebSettings(
        secret_key=secret, cookie_name=COOKIE_NAME, secure_cookies=settings.secure_cookies
    )
    accounts = Accounts(settings.accounts_path)
    auth = gallery_auth(accounts, archive, session_max_age=web.session_max_age)
    routes = gallery_routes(auth, archive, tz=tz)
    return Gallery(routes=routes, middleware=web_middleware(web), accounts=accounts)
