"""The dashboard in a real Chromium over HTTPS: login, live preview, threshold, motion via SSE."""

from __future__ import annotations

import re

import pytest

from dashboard.dashboard_support import WIDTH, CamServer
from web.websupport import PASSWORD, launch_chromium


@pytest.mark.browser
def test_dashboard_lights_up_on_motion(cam_server: CamServer) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context(ignore_https_errors=True)  # trustme's CA is not Chromium's
        page = context.new_page()
        problems: list[str] = []
        page.on("console", lambda m: m.type == "error" and problems.append(m.text))
        page.on("pageerror", lambda e: problems.append(str(e)))

        page.goto(cam_server.url + "/")
        assert page.url.startswith(cam_server.url + "/login")
        page.fill("input[name=username]", "owner")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        expect(page.locator("#link-state")).to_have_text("Live")  # SSE connected

        # The live preview (MJPEG in an <img>) shows camera frames.
        # (Polling via expect: page-side eval would be refused by our own CSP, rightly.)
        expect(page.locator("#preview")).to_have_js_property("naturalWidth", WIDTH)

        # Raise the threshold through the form: fetch + the session's CSRF token.
        page.fill("#threshold", "20")
        page.click("#threshold-form button[type=submit]")
        expect(page.locator("#threshold-now")).to_have_text("20")
        assert cam_server.detector.threshold == 20.0
        expect(page.locator("#threshold-error")).to_have_text("")

        # Something crosses the yard: the dashboard lights up, pushed over SSE.
        expect(page.locator("#motion")).not_to_have_class(re.compile(r"\blit\b"))
        cam_server.source.moving.set()
        expect(page.locator("#motion")).to_have_class(re.compile(r"\blit\b"))
        expect(page.locator("#motion-text")).to_contain_text("Motion at")
        expect(page.locator("#recent li").first).to_contain_text("change")
        expect(page.locator("#last-motion")).to_contain_text("change")
        expect(page.locator("#last-trigger")).to_have_js_property("naturalWidth", WIDTH)
        assert int(page.inner_text("#trigger-count")) >= 1
        assert cam_server.detector.trigger_count >= 1
        assert not problems, problems  # includes any CSP violation

        # The password changes elsewhere: the open dashboard is sent back to the login page.
        cam_server.accounts.set_password("owner", "changed elsewhere")
        page.wait_for_url(re.compile(r"/login\?next=/$"))
        browser.close()
