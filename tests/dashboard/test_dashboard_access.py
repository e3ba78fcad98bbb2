"""Every route x every kind of credential gets the expected status, over real HTTPS.

"Open" means the route did its job (200, or 101 for the WebSocket); a refusal is the status the
caller needs to act on: 401 (who are you?), 403 (not allowed, or a CSRF/Origin refusal), and
for the browser-only pages (scope ``page``) 303 to the login page.
"""

from __future__ import annotations

import base64
import itertools
import json
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from dashboard.conftest import PANEL, log_in
from dashboard.dashboard_client import control_socket, wait_for
from dashboard.dashboard_support import CamServer, cam_settings
from serving import Running
from web.websupport import PASSWORD
from yardcam.camera import FrameHub
from yardcam.dashboard import CameraFeed, create_api_token, create_app, revoke_api_token
from yardcam.motion import MotionDetector
from yardcam.web import JwtSigner


@dataclass(frozen=True)
class Route:
    method: str  # GET, POST, STREAM (a GET whose body never ends) or WS
    path: str
    scope: str  # none, read, control, page (a browser session only)


ROUTES = [
    Route("GET", "/status", "read"),
    Route("GET", "/cameras/backyard/status", "read"),
    Route("GET", "/snapshot.jpg", "read"),
    Route("GET", "/config", "read"),
    Route("GET", "/metrics", "read"),
    Route("GET", "/healthz", "none"),
    Route("STREAM", "/stream.jpg", "read"),
    Route("STREAM", "/events", "read"),
    Route("POST", "/config", "control"),
    Route("POST", "/cameras/backyard/config", "control"),
    Route("WS", "/control", "control"),
    Route("GET", "/account/tokens", "page"),
    Route("POST", "/account/tokens", "page"),  # creates the token "matrix"
    Route("POST", "/account/tokens/revoke", "page"),  # revokes it
]


@dataclass
class Credential:
    headers: dict[str, str] = field(default_factory=dict)
    # what each route scope answers: None means "open"
    read: int | None = None
    control: int | None = None
    unsafe: int | None = None  # a POST, when it differs from ``control``
    websocket: int | None = None  # the /control handshake, when it differs from ``control``
    page: int | None = 303  # a page: every way in but a live session goes to the login page


def _session(client: httpx.Client) -> dict[str, str]:
    return {"cookie": f"yardcam_cam={client.cookies['yardcam_cam']}"}


def _basic(user: str, password: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def _tampered(token: str) -> str:
    head, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{head}.{forged}.{signature}"


CREDENTIALS = [
    "none",
    "session",
    "session without CSRF token",
    "session with a foreign Origin",
    "session with Sec-Fetch-Site cross-site",
    "valid JWT",
    "expired JWT",
    "tampered JWT",
    "Basic good",
    "Basic bad",
    "read token",
    "control token",
    "revoked token",
    "cookie copied before logout",
]


def make_credential(name: str, cam: CamServer, context: ssl.SSLContext) -> Credential:
    if name == "none":
        return Credential(read=401, control=401)
    if name.startswith("session") or name == "cookie copied before logout":
        client = httpx.Client(base_url=cam.url, verify=context, timeout=10)
        log_in(client)
        client.close()
        csrf = {"x-csrf-token": client.csrf}  # type: ignore[attr-defined]
        if name == "session":
            return Credential({**_session(client), **csrf}, page=None)
        if name == "session without CSRF token":  # a WebSocket carries none: Origin guards it
            return Credential(_session(client), unsafe=403, page=None)
        if name == "session with a foreign Origin":
            headers = {**_session(client), **csrf, "origin": "https://evil.example"}
            return Credential(headers, unsafe=403, websocket=403, page=None)
        if name == "session with Sec-Fetch-Site cross-site":
            headers = {**_session(client), **csrf, "sec-fetch-site": "cross-site"}
            return Credential(headers, unsafe=403, websocket=403, page=None)
        copied = {**_session(client), **csrf}
        with httpx.Client(base_url=cam.url, verify=context, cookies=client.cookies) as owner:
            assert owner.post("/logout", headers=csrf).status_code == 303
        return Credential(copied, read=401, control=401)
    secret = cam.data_dir / "cam" / "jwt-secret"
    if name == "valid JWT":
        with httpx.Client(base_url=cam.url, verify=context) as client:
            reply = client.post("/api/login", json={"user": "owner", "pass": PASSWORD}).json()
        assert reply["expires_in"] == 3600 and reply["token_type"] == "Bearer"
        return Credential(_bearer(reply["token"]))
    if name == "expired JWT":
        tag = cam.accounts.session_tag("owner")
        return Credential(_bearer(JwtSigner(secret, lifetime=-60).issue("owner", tag)), 401, 401)
    if name == "tampered JWT":
        token = JwtSigner(secret).issue("owner", cam.accounts.session_tag("owner"))
        return Credential(_bearer(_tampered(token)), 401, 401)
    if name == "Basic good":
        return Credential(_basic("owner", PASSWORD))
    if name == "Basic bad":
        return Credential(_basic("owner", "wrong password"), 401, 401)
    if name == "read token":
        return Credential(_bearer(create_api_token(cam.data_dir, "ha", "read")), control=403)
    if name == "control token":
        return Credential(_bearer(create_api_token(cam.data_dir, "panel", "control")))
    assert name == "revoked token"
    token = create_api_token(cam.data_dir, "old", "control")
    revoke_api_token(cam.data_dir, "old")
    return Credential(_bearer(token), 401, 401)


def attempt(route: Route, cam: CamServer, context: ssl.SSLContext, headers: dict[str, str]) -> int:
    if route.method == "WS":
        try:
            with control_socket(cam.url, context, route.path, **headers) as ws:
                ws.send(json.dumps({"cmd": "reset"}))
                assert json.loads(ws.recv(timeout=10))["ok"]
        except InvalidStatus as refused:
            return refused.response.status_code
        return 101
    with httpx.Client(base_url=cam.url, verify=context, timeout=10) as client:
        if route.method == "STREAM":
            with client.stream("GET", route.path, headers=headers) as response:
                return response.status_code
        if route.method == "POST" and route.scope == "page":  # the pages' url-encoded forms
            form = {"name": "matrix", "scope": "read"}
            if "x-csrf-token" in headers:
                form["csrf_token"] = headers["x-csrf-token"]
            headers = {k: v for k, v in headers.items() if k != "x-csrf-token"}
            return client.post(route.path, data=form, headers=headers).status_code
        if route.method == "POST":
            return client.post(route.path, json={"threshold": 20}, headers=headers).status_code
        return client.get(route.path, headers=headers).status_code


def expected(route: Route, credential: Credential) -> int:
    open_status = 101 if route.method == "WS" else 200
    if route.scope == "none":
        return 200
    answer = {"read": credential.read, "page": credential.page}.get(route.scope, credential.control)
    if answer is None and route.method == "POST":
        answer = credential.unsafe
    if answer is None and route.method == "WS":
        answer = credential.websocket
    return open_status if answer is None else answer


@pytest.mark.parametrize("name", CREDENTIALS)
def test_route_x_credential(
    name: str, cam_server: CamServer, client_ssl_context: ssl.SSLContext
) -> None:
    wait_for(lambda: cam_server.hub.latest, "a frame")  # so /snapshot.jpg is 200, not 503
    credential = make_credential(name, cam_server, client_ssl_context)
    got = {
        r.method + " " + r.path: attempt(r, cam_server, client_ssl_context, credential.headers)
        for r in ROUTES
    }
    want = {r.method + " " + r.path: expected(r, credential) for r in ROUTES}
    if name == "Basic bad":  # the login throttle locks the name out after 5 failures: 429
        got = {k: 401 if v == 429 else v for k, v in got.items()}
    assert got == want


def test_basic_is_throttled_like_the_login_form(
    cam_server: CamServer, client_ssl_context: ssl.SSLContext
) -> None:
    with httpx.Client(base_url=cam_server.url, verify=client_ssl_context) as client:
        statuses = [
            client.get("/status", headers=_basic("owner", "nope")).status_code for _ in range(6)
        ]
        assert statuses == [401] * 5 + [429]
        locked = client.get("/status", headers=_basic("owner", PASSWORD))
        assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
        api = client.post("/api/login", json={"user": "owner", "pass": PASSWORD})
        assert api.status_code == 429  # one budget for every way of typing a password


def test_jwt_dies_with_its_secret_and_with_a_password_change(
    cam_server: CamServer, client_ssl_context: ssl.SSLContext
) -> None:
    with httpx.Client(base_url=cam_server.url, verify=client_ssl_context) as client:

        def fresh() -> dict[str, str]:
            reply = client.post("/api/login", json={"user": "owner", "pass": PASSWORD})
            return _bearer(reply.json()["token"])

        assert client.post("/api/login", json={"user": "owner", "pass": "x"}).status_code == 401
        assert client.post("/api/login", json={"user": "owner"}).status_code == 400
        token = fresh()
        assert client.get("/status", headers=token).status_code == 200
        (cam_server.data_dir / "cam" / "jwt-secret").unlink()
        assert client.get("/status", headers=token).status_code == 401
        token = fresh()
        cam_server.accounts.set_password("owner", "a new password")
        refused = client.get("/status", headers=token)
        assert refused.status_code == 401 and "password change" in refused.json()["error"]


def test_basic_is_refused_over_plain_http(
    serve_app: Callable[..., Running], tmp_path: Path
) -> None:
    app = create_app([CameraFeed("yard", FrameHub(), MotionDetector())], cam_settings(tmp_path))
    server = serve_app(app)  # plain http: a password in every request would travel in clear
    with httpx.Client(base_url=server.url) as client:
        refused = client.get("/status", headers=_basic("owner", PASSWORD))
        assert refused.status_code == 401 and "https" in refused.json()["error"]


@pytest.mark.parametrize(("origin", "allowed"), [(PANEL, True), ("https://evil.example", False)])
def test_preflights(
    cam_server: CamServer, client_ssl_context: ssl.SSLContext, origin: str, allowed: bool
) -> None:
    headers = {
        "origin": origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, x-csrf-token, content-type",
    }
    with httpx.Client(base_url=cam_server.url, verify=client_ssl_context) as client:
        response = client.options("/config", headers=headers)
        if allowed:
            assert response.status_code == 200
            assert response.headers["access-control-allow-origin"] == PANEL
            assert response.headers["access-control-allow-credentials"] == "true"
            assert response.headers["access-control-max-age"] == "86400"
            allowed_headers = response.headers["access-control-allow-headers"].lower()
            assert "authorization" in allowed_headers and "x-csrf-token" in allowed_headers
        else:
            assert response.status_code == 400
            assert "access-control-allow-origin" not in response.headers
        simple = client.get("/healthz", headers={"origin": origin})
        assert ("access-control-allow-origin" in simple.headers) is allowed
        assert simple.headers.get("access-control-allow-origin") != "*"


def test_api_tokens_from_the_browser_need_a_fresh_login(
    cam_server: CamServer, client: httpx.Client
) -> None:
    csrf = {"x-csrf-token": client.csrf}  # type: ignore[attr-defined]
    made = client.post("/api/tokens", json={"name": "ha", "scope": "read"}, headers=csrf)
    assert made.status_code == 201 and made.json()["token"].startswith("ycam_")
    token = _bearer(made.json()["token"])
    assert client.get("/status", headers=token).status_code == 200
    bad = client.post("/api/tokens", json={"name": "x", "scope": "admin"}, headers=csrf)
    assert bad.status_code == 400 and "scope" in bad.json()["error"]


@pytest.mark.parametrize("how", ["session", "Basic", "JWT", "token"])
def test_open_streams_end_when_their_credential_does(
    cam_server: CamServer, client: httpx.Client, client_ssl_context: ssl.SSLContext, how: str
) -> None:
    """A password change (or a revoked token) must not leave an open stream watching."""
    headers: dict[str, str] = {}
    if how == "Basic":
        headers = _basic("owner", PASSWORD)
    elif how == "JWT":
        with httpx.Client(base_url=cam_server.url, verify=client_ssl_context) as script:
            reply = script.post("/api/login", json={"user": "owner", "pass": PASSWORD})
        headers = _bearer(reply.json()["token"])
    elif how == "token":
        headers = _bearer(create_api_token(cam_server.data_dir, "ha", "read"))
    with (
        client.stream("GET", "/events", headers=headers) as events,
        client.stream("GET", "/stream.jpg", headers=headers) as mjpeg,
    ):
        lines, chunks = events.iter_lines(), mjpeg.iter_raw()
        assert next(lines).startswith("retry:") and next(chunks)
        if how == "token":
            revoke_api_token(cam_server.data_dir, "ha")
        else:
            cam_server.accounts.set_password("owner", "a new password")
        # Both end by themselves: SSE at the next 0.2 s tick, MJPEG within about a second
        # (20 fps, 3 chunks a frame). Streams that went on would fill the slices instead.
        assert len(list(itertools.islice(lines, 1000))) < 100
        assert len(list(itertools.islice(chunks, 5000))) < 1000
