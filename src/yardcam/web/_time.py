"""The browser's time zone, for pages the server lays out by local day or hour (the gallery).

``/_web/time.js`` shows every time in the browser's zone, and puts that zone's IANA name in
the ``tz`` cookie, so the server can group by the same days and hours the page then shows (a
frame at 00:30 Kiritimati time is on the next day there, not on its UTC day). The cookie comes
from the client: only a name the zone database knows is used, anything else is the app's own
zone.
"""

from __future__ import annotations

import re
from datetime import tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.requests import HTTPConnection

TZ_COOKIE = "tz"
# IANA names: "Europe/Berlin", "America/Argentina/Buenos_Aires", "Etc/GMT+5", "UTC". Checked
# before zoneinfo sees it, which would otherwise try to open paths it is handed.
_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]{0,30}(/[A-Za-z0-9_+\-]{1,30}){0,2}")


def zone_named(name: str | None) -> ZoneInfo | None:
    """The zone called ``name`` (an IANA name), or None when there is no such zone."""
    if not name or not _ZONE_NAME.fullmatch(name):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def browser_zone(connection: HTTPConnection, default: tzinfo) -> tzinfo:
    """The zone in the request's ``tz`` cookie (set by ``time.js``), else ``default``."""
    return zone_named(connection.cookies.get(TZ_COOKIE)) or default
