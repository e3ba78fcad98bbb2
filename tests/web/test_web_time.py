"""The browser's zone from the ``tz`` cookie: known IANA names only, the app's zone otherwise."""

from __future__ import annotations

from datetime import UTC
from zoneinfo import ZoneInfo

import pytest
from starlette.requests import Request

from yardcam.web import browser_zone, zone_named


@pytest.mark.parametrize("name", ["Pacific/Kiritimati", "America/Argentina/Buenos_Aires", "UTC"])
def test_known_zones(name: str) -> None:
    assert zone_named(name) == ZoneInfo(name)


@pytest.mark.parametrize(
    "name",
    [None, "", "Mars/Olympus_Mons", "../../etc/passwd", "/etc/localtime", "Europe/", "a" * 200],
)
def test_anything_else_is_no_zone(name: str | None) -> None:
    assert zone_named(name) is None


def test_the_cookie_or_the_apps_zone() -> None:
    def request(cookie: str) -> Request:
        return Request({"type": "http", "headers": [(b"cookie", cookie.encode())]})

    berlin = ZoneInfo("Europe/Berlin")
    assert browser_zone(request("tz=Asia/Kolkata"), UTC) == ZoneInfo("Asia/Kolkata")
    assert browser_zone(request("tz=Nowhere/Atall"), berlin) is berlin
    assert browser_zone(request("other=1"), berlin) is berlin
