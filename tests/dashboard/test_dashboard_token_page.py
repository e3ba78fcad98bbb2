"""The API tokens page (``/account/tokens``), over real HTTPS: in Chromium (create a token, use
it with ``yardcam.requests`` and with the page's own curl line, revoke it; a stale login is
asked for the password first; the phone layout), and route by route (the forms' CSRF token and
same-origin check, the fresh-login step).

Screenshots are kept in ``$YARDCAM_TEST_ARTIFACTS`` (default ``build/test-artifacts``).
"""

from __future__ import annotations

import re
import shlex
import shutil
import ssl
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from dashboard.conftest import log_in
from dashboard.dashboard_support import cam_settings
from dashboard.test_dashboard_browser import ARTIFACTS
from serving import Running, TLSFiles
from web.websupport import PASSWORD, launch_chromium, submit_login
from yardcam import requests
from yardcam.camera import FrameHub
from yardcam.dashboard import CameraFeed, create_api_token, create_app, list_api_tokens
from yardcam.motion import MotionDetector
from yardcam.web import FRESH_SECONDS

LOCAL_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")  # time.js: local, ISO-like, 24 h


@dataclass
class TokenCam:
    url: str
    data_dir: Path
    ca_pem: Path
    now: list[float]  # the app's clock: add to now[0] to age every login

    def age_logins(self) -> None:
        self.now[0] += FRESH_SECONDS + 60


@pytest.fixture
def token_cam(serve_app: Callable[..., Running], tls_files: TLSFiles, tmp_path: Path) -> TokenCam:
    now = [time.time()]
    settings = cam_settings(tmp_path, ca_file=tls_files.ca_pem)
    feed = CameraFeed("yard", FrameHub(), MotionDetector())  # no source: /status needs none
    app = create_app([feed], settings, clock=lambda: now[0])
    running = serve_app(app, tls=tls_files)
    return TokenCam(running.url, tmp_path, tls_files.ca_pem, now)


def _names(cam: TokenCam) -> list[str]:
    return [t.name for t in list_api_tokens(cam.data_dir)]


@pytest.mark.browser
def test_tokens_page_in_a_browser(token_cam: TokenCam) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    url = token_cam.url
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context(ignore_https_errors=True)  # trustme's CA is not Chromium's
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
        page = context.new_page()
        problems: list[str] = []
        page.on("console", lambda m: m.type == "error" and problems.append(m.text))
        page.on("pageerror", lambda e: problems.append(str(e)))

        page.goto(url + "/")
        submit_login(page)
        page.click("nav a[href='/account/tokens']")  # the dashboard's menu leads there
        expect(page.locator("#no-tokens")).to_be_visible()

        # Create one: the secret is shown once, with a copy button and a curl line.
        page.fill("form.token-form input[name=name]", "script")
        page.check("input[name=scope][value=read]")
        page.click("form.token-form button[type=submit]")
        token = page.inner_text("#new-token").strip()
        assert token.startswith("ycam_")
        page.click("button[data-copy=new-token]")
        expect(page.locator("#copy-result")).to_have_text("Copied.")
        row = page.locator("tr[data-token=script]")
        expect(row).to_contain_text("read")
        expect(row.locator("td[data-label='Last used']")).to_contain_text("not since")
        assert token not in page.locator(".token-list").inner_text()  # the list never shows it

        # The token works for a script, through the project's own client, over HTTPS...
        bearer = {"Authorization": f"Bearer {token}"}
        status = requests.get(url + "/status", headers=bearer, verify=str(token_cam.ca_pem))
        assert status.status_code == 200 and status.json()["camera"] == "yard"
        # ... and the curl line works as printed.
        curl = page.inner_text("#curl-line").strip()
        assert f"--cacert {token_cam.ca_pem}" in curl and curl.endswith(f"{url}/status")
        if shutil.which("curl"):
            ran = subprocess.run(shlex.split(curl), capture_output=True, text=True, timeout=30)
            assert ran.returncode == 0 and '"camera":"yard"' in ran.stdout, ran.stderr
        page.goto(url + "/account/tokens")  # the page now knows when it was last used
        used = row.locator("td[data-label='Last used'] time")
        expect(used).to_have_text(LOCAL_TIME)

        # A phone (390 px wide): nothing wider than the screen, a new token's secret included.
        page.set_viewport_size({"width": 390, "height": 844})
        page.fill("form.token-form input[name=name]", "phone")
        page.check("input[name=scope][value=control]")
        page.click("form.token-form button[type=submit]")
        expect(page.locator("#new-token")).to_contain_text("ycam_")
        expect(page.locator("#tokens-page")).to_have_js_property("scrollWidth", 390 - 2 * 8)
        page.screenshot(path=str(ARTIFACTS / "tokens-phone-390.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 800})

        # Revoke it on the page: it stops working at once.
        row.locator("button.danger").click()
        expect(page.locator("[role=status]").first).to_contain_text("Token script revoked")
        expect(page.locator("tr[data-token=script]")).to_have_count(0)
        refused = requests.get(url + "/status", headers=bearer, verify=str(token_cam.ca_pem))
        assert refused.status_code == 401
        assert _names(token_cam) == ["phone"]

        # Ten minutes on, the page asks for the password again before anything else.
        token_cam.age_logins()
        page.goto(url + "/account/tokens")
        assert "/login?fresh=1" in page.url
        expect(page.locator("form.login h1")).to_have_text("Confirm it is you")
        page.fill("input[name=password]", PASSWORD)
        page.click("form.login button[type=submit]")
        page.wait_for_url(url + "/account/tokens")
        expect(page.locator("tr[data-token=phone]")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "tokens-desktop.png"), full_page=True)
        assert not problems, problems  # includes any CSP violation
        browser.close()


@pytest.fixture
def client(token_cam: TokenCam, client_ssl_context: ssl.SSLContext) -> Any:
    with httpx.Client(base_url=token_cam.url, verify=client_ssl_context, timeout=10) as client:
        log_in(client)
        yield client


@pytest.mark.parametrize("action", ["create", "revoke"])
@pytest.mark.parametrize(
    "refused",
    [
        {"csrf_token": None},
        {"csrf_token": "a guessed token"},
        {"origin": "https://evil.example"},
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
    ],
    ids=["no token", "wrong token", "foreign Origin", "cross-site", "same-site"],
)
def test_page_forms_need_the_csrf_token_and_our_origin(
    token_cam: TokenCam, client: httpx.Client, action: str, refused: dict[str, str | None]
) -> None:
    create_api_token(token_cam.data_dir, "kept", "read")
    path = "/account/tokens" + ("/revoke" if action == "revoke" else "")
    form = {"name": "kept" if action == "revoke" else "new", "scope": "control"}
    good = {"csrf_token": client.csrf}  # type: ignore[attr-defined]
    own = {"origin": token_cam.url, "sec-fetch-site": "same-origin"}
    fields = {**form, **good, **{k: v for k, v in refused.items() if k == "csrf_token"}}
    headers = {**own, **{k: v for k, v in refused.items() if k != "csrf_token" and v}}
    data = {k: v for k, v in fields.items() if v is not None}
    response = client.post(path, data=data, headers=headers)
    assert response.status_code == 403, response.text
    assert _names(token_cam) == ["kept"]  # nothing happened
    done = client.post(path, data={**form, **good}, headers=own)
    assert done.status_code == 200, done.text
    assert _names(token_cam) == (["kept", "new"] if action == "create" else [])


def test_a_stale_login_confirms_the_password_before_creating(
    token_cam: TokenCam, client: httpx.Client
) -> None:
    csrf = client.csrf  # type: ignore[attr-defined]
    assert client.get("/account/tokens").status_code == 200  # just logged in: fresh
    create_api_token(token_cam.data_dir, "old", "read")
    token_cam.age_logins()
    fresh_login = "/login?fresh=1&next=/account/tokens"
    stale = client.get("/account/tokens")
    assert stale.status_code == 303 and stale.headers["location"] == fresh_login
    made = client.post("/account/tokens", data={"name": "x", "scope": "read", "csrf_token": csrf})
    assert made.status_code == 303 and made.headers["location"] == fresh_login
    api = client.post(
        "/api/tokens", json={"name": "x", "scope": "read"}, headers={"x-csrf-token": csrf}
    )
    assert api.status_code == 403 and api.json()["login"] == fresh_login
    assert _names(token_cam) == ["old"]
    # Revoking needs no fresh login: taking access away is never the dangerous direction.
    gone = client.post("/account/tokens/revoke", data={"name": "old", "csrf_token": csrf})
    assert gone.status_code == 200 and "Token old revoked" in gone.text
    again = client.post("/account/tokens/revoke", data={"name": "old", "csrf_token": csrf})
    assert again.status_code == 404 and "no token named" in again.text
    bad = client.post(
        "/account/tokens", data={"name": "no spaces", "scope": "read", "csrf_token": csrf}
    )
    assert bad.status_code == 303  # still stale: the password first, then the form's checks


def test_the_form_explains_a_refused_token(token_cam: TokenCam, client: httpx.Client) -> None:
    csrf = client.csrf  # type: ignore[attr-defined]
    for name, scope, reason in [
        ("no spaces", "read", "Token name must be 1-64 letters"),
        ("ok", "admin", "Scope must be one of read, control"),
    ]:
        page = client.post(
            "/account/tokens", data={"name": name, "scope": scope, "csrf_token": csrf}
        )
        assert page.status_code == 400 and reason in page.text
    assert _names(token_cam) == []
    page = client.post("/account/tokens", data={"name": "ha", "scope": "read", "csrf_token": csrf})
    assert page.headers["cache-control"] == "no-store"  # it holds the new token
    again = client.post("/account/tokens", data={"name": "ha", "scope": "read", "csrf_token": csrf})
    assert again.status_code == 400 and "exists; revoke it first" in again.text
