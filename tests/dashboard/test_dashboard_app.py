"""The cam's web app through real uvicorn over TLS, with the real hub and detector running."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import simplejpeg

from dashboard.dashboard_support import HEIGHT, WIDTH, CamServer, cam_settings
from serving import Running, TLSFiles
from web.websupport import PASSWORD, form_token
from yardcam.camera import FrameHub, MjpegParser, boundary_from_content_type
from yardcam.dashboard import create_app
from yardcam.motion import MotionDetector


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
    """Poll (the server runs in another thread) until ``predicate()`` is truthy."""
    deadline = time.monotonic() + timeout
    while not (result := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
    return result


def sse_events(lines: Iterator[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    event = None
    for line in lines:
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: ") and event:
            yield event, json.loads(line.removeprefix("data: "))


def test_everything_needs_a_login(cam_server: CamServer, client_ssl_context: Any) -> None:
    with httpx.Client(base_url=cam_server.url, verify=client_ssl_context) as anonymous:
        page = anonymous.get("/", headers={"accept": "text/html"})
        assert page.status_code == 303 and page.headers["location"] == "/login?next=/"
        for path in ("/events", "/stream.mjpg", "/snapshot.jpg", "/motion.jpg", "/api/state"):
            assert anonymous.get(path).status_code == 401, path
        assert anonymous.post("/api/threshold", json={"threshold": 1}).status_code == 401
        login = anonymous.get("/login")
        assert "backyard" in login.text
        assert login.headers["strict-transport-security"].startswith("max-age=")
    assert cam_server.detector.threshold == 12.0


def test_state_and_snapshot(cam_server: CamServer, client: httpx.Client) -> None:
    snapshot = wait_for(lambda: (r := client.get("/snapshot.jpg")).is_success and r, "a frame")
    assert snapshot.headers["content-type"] == "image/jpeg"
    assert simplejpeg.decode_jpeg_header(snapshot.content)[:2] == (HEIGHT, WIDTH)
    state = wait_for(lambda: (s := client.get("/api/state").json())["frame_count"] > 2 and s, "3")
    assert state["name"] == "backyard" and state["threshold"] == 12.0
    assert state["trigger_count"] == 0 and state["last_motion"] is None
    assert state["source"]["state"] == "streaming" and state["source"]["width"] == WIDTH
    assert state["archive"]["sent"] == 3
    assert client.get("/api/state").headers["cache-control"] == "no-store"


def test_snapshot_before_the_first_frame_is_503(
    serve_app: Callable[..., Running], tls_files: TLSFiles, client_ssl_context: Any
) -> None:
    app = create_app(FrameHub(), MotionDetector(), None, cam_settings())  # no source running
    server = serve_app(app, tls=tls_files)
    with httpx.Client(base_url=server.url, verify=client_ssl_context) as client:
        token = form_token(client.get("/login").text)
        data = {"username": "owner", "password": PASSWORD, "csrf_token": token}
        assert client.post("/login", data=data).status_code == 303
        snapshot = client.get("/snapshot.jpg")
        assert snapshot.status_code == 503 and snapshot.headers["retry-after"] == "1"
        assert snapshot.json() == {"error": "no frame yet (source: starting)"}
        state = client.get("/api/state").json()
        assert state["archive"] is None and state["source"]["seq"] is None


def test_threshold_api(cam_server: CamServer, client: httpx.Client) -> None:
    csrf = {"x-csrf-token": client.csrf}  # type: ignore[attr-defined]
    assert client.post("/api/threshold", json={"threshold": 30}).status_code == 403
    bad = client.post("/api/threshold", json={"threshold": 30}, headers={"x-csrf-token": "x"})
    assert bad.status_code == 403
    assert cam_server.detector.threshold == 12.0
    ok = client.post("/api/threshold", json={"threshold": 30.5}, headers=csrf)
    assert ok.status_code == 200 and ok.json() == {"threshold": 30.5}
    assert cam_server.detector.threshold == 30.5
    refusals = [
        ({"json": {"threshold": 101}}, 422, "between 0 and 100"),
        ({"json": {"threshold": -1}}, 422, "between 0 and 100"),
        ({"json": {"threshold": "abc"}}, 400, "must be a number"),
        ({"json": {"threshold": True}}, 400, "must be a number"),
        ({"json": {"threshold": None}}, 400, "must be a number"),
        ({"json": {"level": 3}}, 400, '"threshold"'),
        ({"json": [3]}, 400, '"threshold"'),
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 400, "JSON"),
        ({"content": b"3", "headers": {"content-type": "text/plain"}}, 415, "JSON"),
        ({"data": {"threshold": "NaN"}}, 422, "between 0 and 100"),
    ]
    for kwargs, status, reason in refusals:
        headers = {**csrf, **kwargs.pop("headers", {})}
        response = client.post("/api/threshold", headers=headers, **kwargs)
        assert response.status_code == status, kwargs
        assert reason in response.json()["error"]
    assert cam_server.detector.threshold == 30.5
    # The plain HTML form (no JavaScript) works too, with its csrf_token field.
    form = client.post("/api/threshold", data={"threshold": "7", "csrf_token": client.csrf})  # type: ignore[attr-defined]
    assert form.status_code == 303 and cam_server.detector.threshold == 7.0
    assert client.get("/api/state").json()["threshold"] == 7.0


def test_preview_streams_mjpeg_and_stops_on_disconnect(client: httpx.Client) -> None:
    with client.stream("GET", "/stream.mjpg") as response:
        assert response.headers["cache-control"] == "no-store"
        parser = MjpegParser(boundary_from_content_type(response.headers["content-type"]))
        frames: list[bytes] = []
        chunks = response.iter_raw()  # kept alive: a dropped iterator closes the connection
        while len(frames) < 3:
            frames += parser.feed(next(chunks))
        assert all(simplejpeg.decode_jpeg_header(f)[:2] == (HEIGHT, WIDTH) for f in frames)
        assert client.get("/api/state").json()["viewers"]["preview"] == 1
    wait_for(lambda: client.get("/api/state").json()["viewers"]["preview"] == 0, "stream end")


def test_events_push_motion_when_it_fires(cam_server: CamServer, client: httpx.Client) -> None:
    with client.stream("GET", "/events") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse_events(response.iter_lines())
        kind, state = next(events)
        assert kind == "state" and state["viewers"]["dashboards"] == 1
        kind, state = next(events)  # counters keep coming without motion
        assert kind == "state" and state["trigger_count"] == 0
        assert client.get("/motion.jpg").json() == {"error": "no motion since the cam started"}
        cam_server.source.moving.set()
        kind, motion = next((k, d) for k, d in itertools.islice(events, 100) if k == "motion")
        assert motion["count"] == 1 and motion["change"] > 12.0
        assert set(motion) == {"ts", "count", "change", "seq"}
    state = client.get("/api/state").json()
    assert state["trigger_count"] >= 1 and state["last_motion"]["count"] >= 1
    trigger = client.get("/motion.jpg")
    assert trigger.headers["content-type"] == "image/jpeg"
    assert simplejpeg.decode_jpeg_header(trigger.content)[:2] == (HEIGHT, WIDTH)
    wait_for(lambda: client.get("/api/state").json()["viewers"]["dashboards"] == 0, "SSE end")


def test_open_streams_end_when_the_password_changes(
    cam_server: CamServer, client: httpx.Client
) -> None:
    with client.stream("GET", "/events") as events, client.stream("GET", "/stream.mjpg") as mjpeg:
        lines, chunks = events.iter_lines(), mjpeg.iter_raw()
        assert next(lines).startswith("retry:") and next(chunks)
        cam_server.accounts.set_password("owner", "a new password")
        # Both end by themselves: SSE at the next 0.2 s tick, MJPEG within about a second
        # (20 fps, 3 chunks a frame). Streams that went on would fill the slices instead.
        assert len(list(itertools.islice(lines, 1000))) < 100
        assert len(list(itertools.islice(chunks, 5000))) < 1000
    assert client.get("/api/state").status_code == 401


def test_threshold_change_reaches_open_dashboards(client: httpx.Client) -> None:
    with client.stream("GET", "/events") as response:
        events = sse_events(response.iter_lines())
        assert next(events)[1]["threshold"] == 12.0
        csrf = {"x-csrf-token": client.csrf}  # type: ignore[attr-defined]
        assert client.post("/api/threshold", json={"threshold": 42}, headers=csrf).is_success
        within = itertools.islice(events, 50)  # state comes every 0.2 s anyway: never hang
        assert any(kind == "state" and data["threshold"] == 42.0 for kind, data in within)


@pytest.mark.parametrize("name", ["dashboard.js", "dashboard.css"])
def test_static_assets(client: httpx.Client, name: str) -> None:
    response = client.get(f"/static/{name}")
    assert response.status_code == 200 and len(response.content) > 100


def test_dashboard_has_no_inline_script(client: httpx.Client) -> None:
    html = client.get("/").text
    assert '<script src="/static/dashboard.js" defer></script>' in html
    assert "<script>" not in html and " style=" not in html and "onclick" not in html


def test_public_surface() -> None:
    import yardcam.dashboard as cam

    assert cam.__all__ == ["DashboardSettings", "create_app"]
    with pytest.raises(ValueError, match="state_interval"):
        cam_settings(state_interval=0)
    with pytest.raises(ValueError, match="preview_fps"):
        cam_settings(preview_fps=-1)
