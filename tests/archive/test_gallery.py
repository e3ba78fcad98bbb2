"""The archive gallery through real uvicorn over file blobs + SQLite, and once through Chromium."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import secrets
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import numpy as np
import pytest
import simplejpeg
from starlette.applications import Starlette

from serving import Running, TLSFiles
from web.websupport import CHEAP, PASSWORD, form_token
from yardcam.archive import Archive, ArchiveSettings, create_app, create_token, create_user
from yardcam.archive.gallery import build_gallery, gallery_auth, gallery_routes
from yardcam.archive.gallery._plot import hourly_plot
from yardcam.archive.storage import FrameRecord, blob_key, new_frame_id
from yardcam.web import Accounts, WebSettings, web_middleware

Serve = Callable[..., Running]
DAY = "2026-11-20"


def at(hh: int, mm: int, ss: int = 0) -> float:
    return datetime(2026, 11, 20, hh, mm, ss, tzinfo=UTC).timestamp()


def jpeg(shade: int, width: int = 640, height: int = 480) -> bytes:
    image = np.full((height, width, 3), shade, dtype=np.uint8)
    image[: height // 2, : width // 2] = 255 - shade  # something a thumbnail must keep
    return simplejpeg.encode_jpeg(image, quality=85)


@dataclass
class Seeded:
    archive: Archive
    frames: dict[str, tuple[FrameRecord, bytes]]  # label -> (record, original bytes)


async def _store(
    archive: Archive,
    cam: str,
    ts: float,
    body: bytes,
    *,
    change: float = 23.5,
    event: str | None = None,
) -> FrameRecord:
    frame_id = new_frame_id()
    key = blob_key(cam, frame_id, ts)
    writer = await archive.blobs.open_writer(key)
    await writer.write(body)
    stored = await writer.commit()
    record = FrameRecord(
        id=frame_id,
        cam=cam,
        ts=ts,
        seq=int(ts) % 1000,
        change=change,
        size=stored.size,
        sha256=stored.sha256,
        blob_key=key,
        received=ts,
        event=event,
    )
    winner, _ = await archive.index.insert_frame(record)
    return winner


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """Five frames of cam ``yard`` on 2026-11-20 (three at 08h, two at 13h), one of ``porch``."""
    plan = {
        "y1": ("yard", at(8, 1), 40),
        "y2": ("yard", at(8, 2), 60),
        "y3": ("yard", at(8, 59, 59), 80),
        "y4": ("yard", at(13, 5), 100),
        "y5": ("yard", at(13, 6), 120),
        "p1": ("porch", at(9, 30), 140),
    }

    async def seed() -> Seeded:
        data_dir = tmp_path_factory.mktemp("archive")
        archive = Archive(ArchiveSettings.for_data_dir(data_dir, thumb_size=60))
        await archive.open()
        frames = {}
        for label, (cam, ts, shade) in plan.items():
            body = jpeg(shade)
            frames[label] = (await _store(archive, cam, ts, body), body)
        return Seeded(archive, frames)

    seeded = asyncio.run(seed())
    yield seeded
    asyncio.run(seeded.archive.close())


# Two motion events of cam "yard" (the cam's ids: start ms, first seq) and a frame in none.
EARLY, LATE = f"{round(at(8, 0) * 1000)}-1", f"{round(at(9, 0) * 1000)}-9"


@pytest.fixture(scope="module")
def eventful(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """Cam ``yard``: event EARLY (e1-e3, 2 s, e2 the peak), a frame in no event (n1), event
    LATE (l1 alone)."""
    plan = {
        "e1": (at(8, 0, 0), 40, 10.0, EARLY),
        "e2": (at(8, 0, 1), 80, 40.0, EARLY),
        "e3": (at(8, 0, 2), 120, 20.0, EARLY),
        "n1": (at(8, 30), 160, 50.0, None),
        "l1": (at(9, 0), 200, 15.0, LATE),
    }

    async def seed() -> Seeded:
        archive = Archive(ArchiveSettings.for_data_dir(tmp_path_factory.mktemp("events")))
        await archive.open()
        frames = {}
        for label, (ts, shade, change, event) in plan.items():
            body = jpeg(shade)
            record = await _store(archive, "yard", ts, body, change=change, event=event)
            frames[label] = (record, body)
        return Seeded(archive, frames)

    seeded = asyncio.run(seed())
    yield seeded
    asyncio.run(seeded.archive.close())


def gallery_app(archive: Archive, *, page_size: int = 120, tz: str = "UTC") -> Starlette:
    accounts = Accounts(hasher=CHEAP)
    accounts.set_password("owner", PASSWORD)
    settings = WebSettings(
        secret_key=secrets.token_urlsafe(32), cookie_name="archive", secure_cookies=False
    )
    auth = gallery_auth(accounts, archive)
    routes = gallery_routes(auth, archive, page_size=page_size, tz=ZoneInfo(tz))
    return Starlette(routes=routes, middleware=web_middleware(settings))


@contextlib.contextmanager
def logged_in(server: Running) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers={"accept": "text/html"}) as client:
        token = form_token(client.get("/login").text)
        data = {"username": "owner", "password": PASSWORD, "csrf_token": token, "next": ""}
        response = client.post("/login", data=data)
        assert response.status_code == 303 and response.headers["location"] == "/gallery"
        yield client


def test_everything_needs_a_login(serve_app: Serve, seeded: Seeded) -> None:
    server = serve_app(gallery_app(seeded.archive))
    record = seeded.frames["y1"][0]
    with httpx.Client(base_url=server.url) as client:
        assert client.get("/").headers["location"] == "/gallery/"
        page = client.get("/gallery/", headers={"accept": "text/html"})
        assert page.status_code == 303 and page.headers["location"] == "/login?next=/gallery/"
        for path in ("image.jpg", "thumb.jpg", ""):
            response = client.get(f"/gallery/frames/{record.id}/{path}".rstrip("/"))
            assert response.status_code == 401 and response.json() == {"error": "login required"}
        for path in ("/gallery/cams/yard/events", f"/gallery/events/yard-{EARLY}"):
            assert client.get(path).status_code == 401
        assert "yardcam archive" in client.get("/login").text


def test_cameras_page(serve_app: Serve, seeded: Seeded) -> None:
    server = serve_app(gallery_app(seeded.archive))
    with logged_in(server) as client:
        html = client.get("/gallery/").text
    yard_last, porch_last = seeded.frames["y5"][0], seeded.frames["p1"][0]
    assert re.search(r'href="/gallery/cams/yard\?day=2026-11-20"', html)
    assert f'src="/gallery/frames/{yard_last.id}/thumb.jpg"' in html
    assert f'src="/gallery/frames/{porch_last.id}/thumb.jpg"' in html
    assert "5 frames" in html and "1 frame " in html
    # time.js shows it in the browser's zone; without JavaScript, the gallery's zone
    moment = '<time datetime="2026-11-20T13:06:00+00:00" data-part="datetime">'
    assert f"last {moment}2026-11-20 13:06:00 UTC</time>" in html


def test_day_timeline_and_hourly_plot(serve_app: Serve, seeded: Seeded) -> None:
    server = serve_app(gallery_app(seeded.archive))
    with logged_in(server) as client:
        default = client.get("/gallery/cams/yard")  # the day of the cam's last frame
        html = client.get(f"/gallery/cams/yard?day={DAY}").text
        empty = client.get("/gallery/cams/yard?day=2026-11-21").text
        hour13 = client.get(f"/gallery/cams/yard?day={DAY}&hour=13").text
    assert default.text == html
    yard = [seeded.frames[k][0] for k in ("y1", "y2", "y3", "y4", "y5")]
    shown = re.findall(r'src="/gallery/frames/([0-9a-z]+)/thumb.jpg"', html)
    assert shown == [r.id for r in yard]  # oldest first, porch excluded
    assert "<h2>08:00</h2>" in html and "<h2>13:00</h2>" in html
    assert "08:00-09:00: 3 frames" in html and "13:00-14:00: 2 frames" in html
    assert "07:00-08:00: 0 frames" in html and html.count("<rect") == 24
    assert 'href="?day=2026-11-19"' in html and 'href="?day=2026-11-21"' in html
    assert "Frames archived per hour" in html  # what is counted: what the archive has
    assert f'href="?day={DAY}&amp;hour=8"' in html  # a bar leads to its hour
    assert "No frames on 2026-11-21" in empty and "0 frames" in empty
    assert re.findall(r"/gallery/frames/([0-9a-z]+)/thumb", hour13) == [yard[3].id, yard[4].id]


def test_no_link_to_a_day_that_has_not_come(serve_app: Serve, seeded: Seeded) -> None:
    server = serve_app(gallery_app(seeded.archive))
    today = datetime.now(UTC).date()
    with logged_in(server) as client:
        html = client.get(f"/gallery/cams/yard?day={today.isoformat()}").text
    assert f'href="?day={(today - timedelta(days=1)).isoformat()}"' in html
    assert 'rel="next"' not in html


def test_day_in_another_time_zone(serve_app: Serve, seeded: Seeded) -> None:
    server = serve_app(gallery_app(seeded.archive, tz="Asia/Tokyo"))  # UTC+9: 13:05 -> 22:05
    with logged_in(server) as client:
        html = client.get(f"/gallery/cams/yard?day={DAY}").text
    assert "17:00-18:00: 3 frames" in html and "22:00-23:00: 2 frames" in html
    assert "<h2>22:00</h2>" in html and "22:05:00" in html


def test_day_paging(serve_app: Serve, seeded: Seeded) -> None:
    server = serve_app(gallery_app(seeded.archive, page_size=2))
    seen: list[str] = []
    with logged_in(server) as client:
        url: str | None = f"/gallery/cams/yard?day={DAY}"
        while url:
            html = client.get(url).text
            seen += re.findall(r"/gallery/frames/([0-9a-z]+)/thumb", html)
            more = re.search(r'class="more" href="\?([^"]+)"', html)
            url = "/gallery/cams/yard?" + more.group(1).replace("&amp;", "&") if more else None
    assert seen == [seeded.frames[k][0].id for k in ("y1", "y2", "y3", "y4", "y5")]


def test_full_frame_page_and_images(serve_app: Serve, seeded: Seeded) -> None:
    server = serve_app(gallery_app(seeded.archive))
    (y2, body), y1, y3 = seeded.frames["y2"], seeded.frames["y1"][0], seeded.frames["y3"][0]
    with logged_in(server) as client:
        page = client.get(f"/gallery/frames/{y2.id}").text
        image = client.get(f"/gallery/frames/{y2.id}/image.jpg")
        etag = image.headers["etag"]
        again = client.get(f"/gallery/frames/{y2.id}/image.jpg", headers={"if-none-match": etag})
        thumb = client.get(f"/gallery/frames/{y2.id}/thumb.jpg")
    assert f'href="/gallery/frames/{y1.id}" rel="prev"' in page
    assert f'href="/gallery/frames/{y3.id}" rel="next"' in page
    assert f'src="/gallery/frames/{y2.id}/image.jpg"' in page and y2.sha256 in page
    assert image.headers["content-type"] == "image/jpeg"
    assert image.content == body and hashlib.sha256(image.content).hexdigest() == y2.sha256
    assert "private" in image.headers["cache-control"]
    assert again.status_code == 304 and again.content == b""
    assert thumb.headers["content-type"] == "image/jpeg"
    height, width, _, _ = simplejpeg.decode_jpeg_header(thumb.content)
    assert (width, height) == (80, 60)  # DCT-scaled from 640x480


def test_a_cam_opens_on_its_newest_events(serve_app: Serve, eventful: Seeded) -> None:
    server = serve_app(gallery_app(eventful.archive))
    frames = {label: record for label, (record, _) in eventful.frames.items()}
    with logged_in(server) as client:
        cams = client.get("/gallery/").text
        html = client.get("/gallery/cams/yard/events").text
        day = client.get(f"/gallery/cams/yard?day={DAY}").text
    assert 'href="/gallery/cams/yard/events"' in cams
    assert re.findall(r'href="/gallery/events/([^"]+)"', html) == [f"yard-{LATE}", f"yard-{EARLY}"]
    covers = re.findall(r'src="/gallery/frames/([0-9a-z]+)/thumb.jpg"', html)
    assert covers == [frames["l1"].id, frames["e2"].id]  # each event's best frame
    assert "2.0 s · 3 frames · peak 40.0" in html and "0.0 s · 1 frame · peak 15.0" in html
    assert '<time datetime="2026-11-20T08:00:00+00:00" data-part="datetime">' in html
    assert frames["n1"].id not in html  # in no event...
    assert f"/gallery/frames/{frames['n1'].id}/thumb.jpg" in day  # ...but still in its day
    assert 'href="/gallery/cams/yard"' in html  # the day view stays reachable


def test_events_page_in_pages(serve_app: Serve, eventful: Seeded) -> None:
    server = serve_app(gallery_app(eventful.archive, page_size=1))
    seen: list[str] = []
    with logged_in(server) as client:
        url: str | None = "/gallery/cams/yard/events"
        while url:
            html = client.get(url).text
            seen += re.findall(r'href="/gallery/events/([^"]+)"', html)
            more = re.search(r'class="more" href="\?([^"]+)"', html)
            url = "/gallery/cams/yard/events?" + more.group(1) if more else None
        empty = client.get("/gallery/cams/porch/events").text
    assert seen == [f"yard-{LATE}", f"yard-{EARLY}"]
    assert "No motion events archived for porch yet" in empty


def test_event_page_and_the_frame_page_link_back(serve_app: Serve, eventful: Seeded) -> None:
    server = serve_app(gallery_app(eventful.archive))
    frames = {label: record for label, (record, _) in eventful.frames.items()}
    with logged_in(server) as client:
        html = client.get(f"/gallery/events/yard-{EARLY}").text
        in_event = client.get(f"/gallery/frames/{frames['e3'].id}").text
        in_none = client.get(f"/gallery/frames/{frames['n1'].id}").text
    shown = re.findall(r'data-image="/gallery/frames/([0-9a-z]+)/image.jpg"', html)
    assert shown == [frames[k].id for k in ("e1", "e2", "e3")]  # oldest first
    assert f'id="flip-image" src="/gallery/frames/{frames["e2"].id}/image.jpg"' in html
    assert '<script src="/gallery/static/flipbook.js" defer></script>' in html
    assert f'href="/gallery/events/yard-{EARLY}" rel="up"' in in_event
    assert "/gallery/events/" not in in_none and "archived without a motion event" in in_none


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/gallery/events/yard-1-1", 404),
        ("/gallery/events/not-an-event", 404),
        ("/gallery/cams/no%20such/events", 404),
        ("/gallery/cams/yard/events?cursor=%%%", 400),
        ("/gallery/cams/yard?day=2026-13-01", 400),
        ("/gallery/cams/yard?day=yesterday", 400),
        ("/gallery/cams/yard?hour=24", 400),
        ("/gallery/cams/yard?cursor=%%%", 400),
        ("/gallery/cams/no%20such", 404),
        ("/gallery/frames/0123456789abcdef", 404),
        ("/gallery/frames/NOT-AN-ID/image.jpg", 404),
        ("/gallery/frames/0123456789abcdef/thumb.jpg", 404),
    ],
)
def test_bad_input_is_a_clear_4xx(serve_app: Serve, seeded: Seeded, path: str, status: int) -> None:
    server = serve_app(gallery_app(seeded.archive))
    with logged_in(server) as client:
        response = client.get(path)
    assert response.status_code == status
    assert '<p class="card error" role="alert">' in response.text


def test_hourly_plot_on_a_daylight_saving_day() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2026, 3, 29, tzinfo=berlin).timestamp()
    end = datetime(2026, 3, 30, tzinfo=berlin).timestamp()
    three_am = datetime(2026, 3, 29, 3, tzinfo=berlin).timestamp()
    plot = hourly_plot([(three_am, 7)], start, end, berlin)
    assert len(plot.bars) == 23  # 02:00 does not exist that day
    assert [b.hour for b in plot.bars][:4] == [0, 1, 3, 4]
    (full,) = [b for b in plot.bars if b.count]
    assert full.hour == 3 and full.label == "03:00-04:00: 7 frames"
    assert plot.y_ticks[-1].text == "8" and plot.total == 7
    assert full.height == pytest.approx(7 / 8 * (plot.baseline - 8))


@pytest.mark.browser
def test_gallery_in_chromium(serve_app: Serve, seeded: Seeded) -> None:
    from playwright.sync_api import expect, sync_playwright

    from web.websupport import launch_chromium, submit_login

    server = serve_app(gallery_app(seeded.archive))
    last = seeded.frames["y5"][0]
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page()
        page.goto(server.url + "/gallery/")
        submit_login(page)
        thumb = page.locator(f'img[src="/gallery/frames/{last.id}/thumb.jpg"]')
        expect(thumb).to_be_visible()
        # (Polling via expect: page-side eval would be refused by our own CSP, rightly.)
        expect(thumb).to_have_js_property("naturalWidth", 80)  # DCT-scaled 640x480 -> 80x60
        thumb.click()  # a cam opens on its events: these frames have none
        expect(page.locator("main")).to_contain_text("No motion events archived for yard yet")
        page.click("a.daynav")  # frames by day
        expect(page.locator(".plot .bar").first).to_be_attached()
        assert page.locator(".timeline img").count() == 5
        page.click("a[rel=next]")  # the next day: empty
        expect(page.locator("main")).to_contain_text("No frames on 2026-11-21")
        page.click("a[rel=prev]")
        page.locator(".timeline a").last.click()  # the full frame
        full = page.locator("img.full")
        expect(full).to_have_js_property("naturalWidth", 640)
        expect(page.locator("a[rel=prev]")).to_have_attribute(
            "href", f"/gallery/frames/{seeded.frames['y4'][0].id}"
        )
        browser.close()


@pytest.mark.browser
def test_event_flipbook_in_chromium(serve_app: Serve, eventful: Seeded) -> None:
    from playwright.sync_api import expect, sync_playwright

    from web.websupport import launch_chromium, submit_login

    server = serve_app(gallery_app(eventful.archive))
    frames = {label: record for label, (record, _) in eventful.frames.items()}
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page()
        page.goto(server.url + "/gallery/")
        submit_login(page)
        page.click(".cam a >> nth=0")  # a cam opens on its events
        expect(page.locator(".events li")).to_have_count(2)
        page.locator(".events a").last.click()  # the early event
        image, counter = page.locator("#flip-image"), page.locator("#flip-counter")
        expect(counter).to_have_text("2 / 3")  # it opens on its best frame
        expect(image).to_have_js_property("naturalWidth", 640)
        page.keyboard.press("ArrowRight")
        expect(counter).to_have_text("3 / 3")
        expect(image).to_have_attribute("src", f"/gallery/frames/{frames['e3'].id}/image.jpg")
        page.click("#flip-prev")
        expect(counter).to_have_text("2 / 3")
        page.click("#flip-play")
        expect(page.locator("#flip-play")).to_have_text("Pause")
        expect(counter).to_have_text("3 / 3")  # it plays on by itself...
        expect(counter).to_have_text("1 / 3")  # ...and round again
        page.keyboard.press(" ")  # pause: the focus is off the button
        expect(page.locator("#flip-play")).to_have_text("Play")
        page.click("#flip-link")  # the frame shown, whose page links back to its event
        expect(page.locator("img.full")).to_have_js_property("naturalWidth", 640)
        page.click("a.eventlink")
        expect(counter).to_have_text("2 / 3")
        browser.close()


def test_build_gallery_from_archive_settings(serve_app: Serve, seeded: Seeded) -> None:
    settings = ArchiveSettings.for_data_dir(seeded.archive.settings.data_dir, secure_cookies=False)
    gallery = build_gallery(settings, seeded.archive)
    gallery.accounts.set_password("owner", PASSWORD)
    assert (settings.data_dir / "session_secret").stat().st_mode & 0o077 == 0
    server = serve_app(Starlette(routes=gallery.routes, middleware=gallery.middleware))
    with logged_in(server) as client:
        assert "yardcam_archive" in client.cookies
        assert "<h1>Cameras</h1>" in client.get("/gallery/").text


def test_public_surface() -> None:
    import yardcam.archive.gallery as gallery

    assert gallery.__all__ == ["Gallery", "build_gallery", "gallery_auth", "gallery_routes"]


def test_uploaded_frame_appears_in_the_archive_gallery(
    serve_app: Serve, tmp_path: Path, tls_files: TLSFiles, client_ssl_context: ssl.SSLContext
) -> None:
    """End to end through the archive node itself: bearer upload in, gallery page out."""
    settings = ArchiveSettings.for_data_dir(tmp_path, purge_interval=0)
    token = asyncio.run(create_token(settings, cam="yard"))
    create_user(settings, "owner", PASSWORD)
    server = serve_app(create_app(settings), tls=tls_files)
    body = jpeg(90)
    key = f"yard-{round(at(10, 0) * 1000)}-1"  # the cam's key of the frame (yardcam.outbox)
    with httpx.Client(base_url=server.url, verify=client_ssl_context) as client:
        token_form = form_token(client.get("/login").text)
        data = {"username": "owner", "password": PASSWORD, "csrf_token": token_form}
        assert client.post("/login", data=data).status_code == 303
        # The session cookie rides along, but a bearer upload needs (and has) no CSRF token.
        upload = client.post(
            "/frames",
            files={"image": ("frame-1.jpg", body, "image/jpeg")},
            data={"cam": "yard", "ts": str(at(10, 0)), "seq": "1", "change": "31.5"},
            headers={"authorization": f"Bearer {token}", "idempotency-key": key},
        )
        assert upload.status_code == 201, upload.text
        frame_id = upload.json()["id"]
        # The cam's dashboard links a motion event by the key it made: the same frame's page.
        by_key = client.get(f"/gallery/frames/{key}")
        assert by_key.status_code == 200 and f'src="/gallery/frames/{frame_id}/image.jpg"' in (
            by_key.text
        )
        other = client.get(f"/gallery/frames/porch-{round(at(10, 0) * 1000)}-1")
        assert other.status_code == 404  # the key is looked up under its own cam
        cams = client.get("/gallery/", headers={"accept": "text/html"}).text
        assert f'src="/gallery/frames/{frame_id}/thumb.jpg"' in cams
        assert client.get(f"/gallery/frames/{frame_id}/image.jpg").content == body
        day = client.get(f"/gallery/cams/yard?day={DAY}").text
        assert "10:00-11:00: 1 frame" in day and "31.5" in day
