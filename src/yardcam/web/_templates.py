"""Jinja2 templates for the web apps: autoescaped, with the shared layout and login page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup
from starlette.requests import Request
from starlette.templating import Jinja2Templates

from ._csrf import csrf_token

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
STATIC_PATH = "/_web"


def make_templates(*directories: Path, title: str = "yardcam", home: str = "/") -> Jinja2Templates:
    """Templates from ``directories`` first, then ours (``base.html``, ``login.html``).

    Every template gets ``csrf_token()`` (creates the token on first use), ``user`` (the
    logged-in name or None), ``app_title``, ``home`` and the ``localtime`` filter (in UTC;
    an app with a zone of its own replaces it). Autoescaping is on for every template,
    whatever its extension: everything here renders HTML that shows user-controlled names.
    """
    dirs = (*directories, TEMPLATES_DIR)
    loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(d) for d in dirs])
    env = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined)
    env.globals.update(app_title=title, home=home, web_static=STATIC_PATH)
    env.filters["localtime"] = localtime
    return Jinja2Templates(env=env, context_processors=[_request_context])


def localtime(ts: float, tz: tzinfo = UTC, part: str = "datetime") -> Markup:
    """A ``<time>`` that ``/_web/time.js`` shows in the browser's local time, in the one format
    of every yardcam page (``2026-12-05 19:48:35``; ``part="time"``: ``19:48:35``); the text
    inside (in ``tz``) is what a browser without JavaScript shows.
    """
    moment = datetime.fromtimestamp(ts, tz)
    shown = moment.strftime("%H:%M:%S" if part == "time" else "%Y-%m-%d %H:%M:%S %Z")
    return Markup('<time datetime="{}" data-part="{}">{}</time>').format(
        moment.isoformat(), part, shown
    )


def _request_context(request: Request) -> dict[str, Any]:
    token: Callable[[], str] = lambda: csrf_token(request)  # noqa: E731 - lazy: only pages with forms
    return {"csrf_token": token, "user": request.session.get("user")}
