"""The dashboard in a real Chromium over HTTPS: login, motion, threshold slider and plot,
snapshot over the WebSocket, the camera-offline banner, logout, the phone layout.

Screenshots are kept in ``$YARDCAM_TEST_ARTIFACTS`` (default ``build/test-artifacts``).
"""

from __future__ import annotations

import os
import re
import ssl
from pathlib import Path
from typing import Any

import httpx
import pytest

from dashboard.dashboard_support import GALLERY, WIDTH, CamServer
from web.websupport import launch_chromium, submit_login

ARTIFACTS = Path(
    os.environ.get("YARDCAM_TEST_ARTIFACTS")
    or Path(__file__).resolve().parents[2] / "build" / "test-artifacts"
)


def _log_in(page: Any, url: str) -> None:
    page.goto(url + "/")
    assert page.url.startswith(url + "/login")
    submit_login(page)


@pytest.mark.browser
def test_dashboard_tells_the_truth(
    cam_server: CamServer, client_ssl_context: ssl.SSLContext
) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context(ignore_https_errors=True)  # trustme's CA is not Chromium's
        page = context.new_page()
        problems: list[str] = []
        page.on("console", lambda m: m.type == "error" and problems.append(m.text))
        page.on("pageerror", lambda e: problems.append(str(e)))

        _log_in(page, cam_server.url)
        expect(page.locator("#link-state")).to_have_text("Updates: connected")
        # The live preview (MJPEG in an <img>) shows camera frames, and only then says "Live".
        # (Polling via expect: page-side eval would be refused by our own CSP, rightly.)
        expect(page.locator("#preview")).to_have_js_property("naturalWidth", WIDTH)
        expect(page.locator("#live-label")).to_have_text("Live")
        expect(page.locator("#offline")).to_be_hidden()

        # The slider moves the threshold (over /control) and the plot draws the new line.
        page.locator("#threshold").fill("20")
        expect(page.locator("#threshold-now")).to_have_text("20")
        expect(page.locator("#plot")).to_have_attribute("data-threshold", "20")
        assert cam_server.detector.threshold == 20.0
        expect(page.locator("#threshold-error")).to_have_text("")
        expect(page.locator("#plot")).to_have_attribute("data-samples", re.compile(r"[1-9]"))

        # Something crosses the yard: the dashboard lights up, and the event gets a row.
        expect(page.locator("#motion")).not_to_have_class(re.compile(r"\blit\b"))
        cam_server.source.moving.set()
        expect(page.locator("#motion")).to_have_class(re.compile(r"\blit\b"))
        expect(page.locator("#recent li").first).to_contain_text("peak")
        expect(page.locator("#recent li").first).to_contain_text(re.compile(r"\d+ archived"))
        expect(page.locator("#recent li img").first).to_have_js_property("naturalWidth", WIDTH)
        # The row opens the event's flipbook in the archive's gallery: /events/<cam>-<event>.
        expect(page.locator("#recent li a").first).to_have_attribute(
            "href", re.compile(rf"^{re.escape(GALLERY)}/events/backyard-\d+-\d+$")
        )
        expect(page.locator("#gallery-link a")).to_have_attribute(
            "href", f"{GALLERY}/cams/backyard/events"
        )
        expect(page.locator("#last-motion")).to_contain_text("change")
        assert re.fullmatch(
            r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(change [\d.]+\)",
            page.inner_text("#last-motion"),
        )  # the one time format: local, ISO-like, 24 h
        cam_server.source.moving.clear()

        # A snapshot over the WebSocket, saved under the data dir.
        page.click("#snapshot-btn")
        expect(page.locator("#control-result")).to_contain_text("Saved ")
        assert list((cam_server.data_dir / "cam" / "snapshots").glob("backyard-*.jpg"))

        # The camera dies: a banner with since-when and the retry state, never "Live".
        cam_server.source.dead.set()
        expect(page.locator("#offline")).to_be_visible()
        expect(page.locator("#offline-state")).to_contain_text("camera unplugged")
        expect(page.locator("#offline-state")).to_contain_text("retrying")
        expect(page.locator("#live-label")).to_have_text("Offline")
        page.screenshot(path=str(ARTIFACTS / "dashboard-offline.png"), full_page=True)
        cam_server.source.dead.clear()
        expect(page.locator("#offline")).to_be_hidden()
        expect(page.locator("#live-label")).to_have_text("Live")

        # A phone (390 px wide): one column, nothing wider than the screen.
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(cam_server.url + "/")
        expect(page.locator("#live-label")).to_have_text("Live")
        expect(page.locator("#dash")).to_have_js_property("scrollWidth", 390 - 2 * 8)
        page.screenshot(path=str(ARTIFACTS / "dashboard-phone-390.png"), full_page=True)
        assert not problems, problems  # includes any CSP violation

        # Logging out ends the session on the server: a cookie copied before is worthless.
        copied = {c["name"]: c["value"] for c in context.cookies()}
        page.click("form.logout button[type=submit]")
        page.wait_for_url(re.compile(r"/login$"))
        with httpx.Client(
            base_url=cam_server.url, verify=client_ssl_context, cookies=copied
        ) as thief:
            assert thief.get("/status").status_code == 401
        browser.close()


@pytest.mark.browser
def test_each_cameras_page_shows_only_its_own_motion(
    serve_app: Any, tls_files: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    from dashboard.dashboard_support import SteerableSource, cam_settings
    from yardcam.camera import FrameHub
    from yardcam.dashboard import CameraFeed, create_app
    from yardcam.motion import MotionDetector

    sources = {"front": SteerableSource(), "back": SteerableSource()}
    feeds = [CameraFeed(name, FrameHub(), MotionDetector()) for name in sources]
    tasks = [
        t
        for f in feeds
        for t in (lambda f=f: f.hub.run(sources[f.name]), lambda f=f: f.detector.run(f.hub))
    ]
    server = serve_app(create_app(feeds, cam_settings(tmp_path), tasks=tasks), tls=tls_files)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_context(ignore_https_errors=True).new_page()
        missing: list[str] = []
        page.on("response", lambda r: r.status == 404 and missing.append(r.url))
        _log_in(page, server.url)  # the first camera's page, on /events: every camera's stream
        expect(page.locator("#link-state")).to_have_text("Updates: connected")
        back = page.locator('.tile[data-camera="back"] .tile-state')
        sources["back"].moving.set()  # motion on the other camera only
        expect(back).to_have_text(re.compile(r"^[1-9]\d* triggers$"))
        sources["back"].moving.clear()
        expect(page.locator("#trigger-count")).to_have_text("0")
        expect(page.locator("#recent li")).to_have_count(0)
        expect(page.locator("#motion")).not_to_have_class(re.compile(r"\blit\b"))
        sources["front"].moving.set()  # its own camera's motion still shows
        expect(page.locator("#recent li").first).to_contain_text("peak")
        expect(page.locator("#recent li img").first).to_have_js_property("naturalWidth", WIDTH)
        sources["front"].moving.clear()
        browser.close()
    assert not missing, missing  # the other camera's thumbnails, asked at this page's paths


@pytest.mark.browser
def test_the_first_load_asks_only_for_the_thumbnails_it_shows(
    serve_app: Any, tls_files: Any, tmp_path: Path
) -> None:
    # The server keeps 20 recent events; the page shows 10 and must not fetch the other ten.
    import numpy as np
    import simplejpeg
    from playwright.sync_api import expect, sync_playwright

    from dashboard.dashboard_support import HEIGHT, cam_settings
    from yardcam.camera import Frame, FrameHub
    from yardcam.dashboard import CameraFeed, create_app
    from yardcam.motion import MotionDetector

    detector = MotionDetector(min_frames=1, gap=0.5)
    feed = CameraFeed("yard", FrameHub(), detector)
    server = serve_app(create_app([feed], cam_settings(tmp_path)), tls=tls_files)
    jpeg = simplejpeg.encode_jpeg(np.full((HEIGHT, WIDTH, 3), 128, np.uint8))
    for n in range(14):  # fourteen one-frame events, each ended by the next one
        detector.decide(Frame(jpeg, ts=float(n), seq=n, width=WIDTH, height=HEIGHT), 50.0)
    detector.end_event(20.0)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_context(ignore_https_errors=True).new_page()
        thumbnails: list[str] = []
        page.on("request", lambda r: "/motion/" in r.url and thumbnails.append(r.url))
        _log_in(page, server.url)
        expect(page.locator("#link-state")).to_have_text("Updates: connected")
        expect(page.locator("#recent li")).to_have_count(10)
        expect(page.locator("#recent li img").first).to_have_js_property("naturalWidth", WIDTH)
        expect(page.locator("#recent li img").last).to_have_js_property("naturalWidth", WIDTH)
        first = page.locator("#recent li").first.get_attribute("id")
        browser.close()
    assert first == "event-13000-13"  # the newest on top
    assert len(thumbnails) == 10, thumbnails
