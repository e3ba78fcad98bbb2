"""The gallery in a real Chromium far from the server's zone: days and hours in the browser's
zone, the login keeping where it leads after a wrong password, the phone layout.

The server lays out in UTC; the browser lives in Pacific/Kiritimati (UTC+14), where 10:30 UTC
is already 00:30 the next day. One browser for the module. Screenshots are kept in
``$YARDCAM_TEST_ARTIFACTS`` (default ``build/test-artifacts``).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette

from archive.helpers import make_jpeg, store_frame
from serving import Running
from web.websupport import CHEAP, PASSWORD, launch_chromium, submit_login
from yardcam.archive import Archive, ArchiveSettings
from yardcam.archive.gallery import gallery_auth, gallery_routes
from yardcam.web import Accounts, WebSettings, web_middleware

pytestmark = pytest.mark.browser

ARTIFACTS = Path(
    os.environ.get("YARDCAM_TEST_ARTIFACTS")
    or Path(__file__).resolve().parents[2] / "build" / "test-artifacts"
)
ZONE = "Pacific/Kiritimati"
Serve = Callable[..., Running]


def utc(hh: int, mm: int, ss: int = 0) -> float:
    return datetime(2026, 11, 20, hh, mm, ss, tzinfo=UTC).timestamp()


# UTC 2026-11-20 for the server; in Kiritimati the first two are late on the 20th, the rest
# early on the 21st (00:30 ... 01:55).
LATE_ON_20 = [utc(9, 30), utc(9, 59, 59)]
EARLY_ON_21 = [utc(10, 30), *(utc(10 + (35 + 10 * i) // 60, (35 + 10 * i) % 60) for i in range(9))]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    async def seed() -> Archive:
        settings = ArchiveSettings.for_data_dir(tmp_path_factory.mktemp("kiritimati"))
        archive = Archive(settings)
        await archive.open()
        for i, ts in enumerate([*LATE_ON_20, *EARLY_ON_21]):
            await store_frame(archive, "yard", ts, make_jpeg(64, 36, seed=i))
        return archive

    archive = asyncio.run(seed())
    yield archive
    asyncio.run(archive.close())


@pytest.fixture
def gallery(serve_app: Serve, archive: Archive) -> Running:
    accounts = Accounts(hasher=CHEAP)
    accounts.set_password("owner", PASSWORD)
    web = WebSettings(secret_key=secrets.token_urlsafe(32), cookie_name="a", secure_cookies=False)
    routes = gallery_routes(gallery_auth(accounts, archive), archive)  # lays out in UTC
    return serve_app(Starlette(routes=routes, middleware=web_middleware(web)))


@pytest.fixture(scope="module")
def browser(archive: Archive) -> Iterator[Any]:
    """After ``archive``: sync Playwright keeps an event loop running in this thread until it
    stops, and the archive's set-up and tear-down need ``asyncio.run``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(timezone_id=ZONE)
    yield context.new_page()
    context.close()


def log_in(page: Any, url: str, target: str) -> None:
    """Open ``target``, get sent to the login page, type a wrong password, then the right one."""
    from playwright.sync_api import expect

    page.goto(url + target)
    submit_login(page, "not the password")
    expect(page.locator("form.login .error")).to_have_text("Wrong username or password.")
    assert page.url.endswith("/login?next=" + target.replace("?", "%3F").replace("=", "%3D"))
    page.fill("input[name=password]", PASSWORD)
    page.click("form.login button[type=submit]")
    page.wait_for_url(url + target)


def test_days_and_hours_are_the_browsers(page: Any, gallery: Running) -> None:
    from playwright.sync_api import expect

    log_in(page, gallery.url, "/gallery/cams/yard?day=2026-11-21")
    # The first page was laid out in UTC (no cookie yet); time.js set it and loaded it again.
    times = page.locator(".timeline time")
    expect(times).to_have_count(len(EARLY_ON_21))
    expect(times.first).to_have_text("00:30:00")
    expect(page.locator(".hour h2")).to_have_text(["00:00", "01:00"])
    assert page.locator(".plot rect title").nth(0).text_content() == "00:00-01:00: 4 frames"
    assert page.locator(".plot rect title").nth(1).text_content() == "01:00-02:00: 6 frames"
    assert {c["name"]: c["value"] for c in page.context.cookies()}["tz"] == ZONE

    page.click("a[rel=prev]")  # the 20th, in Kiritimati: only its last hour
    expect(page.locator(".hour h2")).to_have_text(["23:00"])
    expect(page.locator(".timeline time")).to_have_text(["23:30:00", "23:59:59"])
    title = page.locator(".plot rect title").nth(23).text_content()
    assert title == "23:00-00:00: 2 frames"


def test_phone_layout(page: Any, gallery: Running) -> None:
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, gallery.url, "/gallery/cams/yard?day=2026-11-21")
    expect(page.locator(".timeline time").first).to_have_text("00:30:00")
    # The hour labels: readable, apart, and only every 6th hour.
    labels = [t for t in page.locator(".plot text.tick").all() if t.is_visible()]
    boxes = [t.bounding_box() for t in labels]
    assert [t.text_content() for t in labels[2:]] == ["00", "06", "12", "18"]  # after the y axis
    for box in boxes:
        assert box["height"] >= 9, boxes  # not specks
    x_boxes = boxes[2:]
    for left, right in itertools.pairwise(x_boxes):
        assert left["x"] + left["width"] < right["x"], x_boxes
    # The day's frames: three or more a row, nothing wider than the screen.
    rows = [round(item.bounding_box()["y"]) for item in page.locator(".timeline li").all()]
    assert rows[0] == rows[1] == rows[2], rows
    assert page.locator(".plot").bounding_box()["width"] <= 390
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "gallery-day-phone-390.png"), full_page=True)
