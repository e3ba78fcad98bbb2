"""The tutorial's API, behaviour by behaviour, against the running app over real HTTPS."""

from __future__ import annotations

import itertools
import json
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import simplejpeg
from websockets.exceptions import InvalidStatus

from dashboard.conftest import PANEL, log_in
from dashboard.dashboard_client import (
    control_socket,
    sse_events,
    sse_messages,
    wait_for,
)
from dashboard.dashboard_support import HEIGHT, WIDTH, CamServer, cam_settings
from serving import Running, TLSFiles
from yardcam.camera import FrameHub, MjpegParser, boundary_from_content_type
from yardcam.dashboard import CameraFeed, create_app, load_camera_state
from yardcam.motion import MotionDetector


def test_status(cam_server: CamServer, client: httpx.Client) -> None:
    status = wait_for(lambda: (s := client.get("/status").json())["frames"] > 2 and s, "frames")
    assert status["triggers"] == 0 and status["threshold"] == 12
    assert isinstance(status["threshold"], int)  # the tutorial's shape: 12, not 12.0
    assert status["camera"] == "backyard" and status["name"] == "backyard"
    assert status["source"]["state"] == "streaming" and status["source"]["width"] == WIDTH
    assert status["archive"]["sent"] == 3
    assert [c["camera"] for c in status["cameras"]] == ["backyard"]
    assert client.get("/status").headers["cache-control"] == "no-store"
    assert client.get("/cameras/backyard/status").json()["camera"] == "backyard"
    assert client.get("/api/state").json()["frame_count"] >= status["frames"]  # the old name


def test_snapshot(cam_server: CamServer, client: httpx.Client) -> None:
    snapshot = wait_for(lambda: (r := client.get("/snapshot.jpg")).is_success and r, "a frame")
    assert snapshot.headers["content-type"] == "image/jpeg"
    assert simplejpeg.decode_jpeg_header(snapshot.content)[:2] == (HEIGHT, WIDTH)


def test_snapshot_before_the_first_frame_is_503(
    serve_app: Callable[..., Running],
    tls_files: TLSFiles,
    client_ssl_context: ssl.SSLContext,
    tmp_path: Path,
) -> None:
    feed = CameraFeed("backyard", FrameHub(), MotionDetector())  # no source running
    server = serve_app(create_app([feed], cam_settings(tmp_path)), tls=tls_files)
    with httpx.Client(base_url=server.url, verify=client_ssl_context) as client:
        log_in(client)
        snapshot = client.get("/snapshot.jpg")
        assert snapshot.status_code == 503 and snapshot.headers["retry-after"] == "1"
        assert snapshot.json() == {"error": "no frame yet", "source": "starting"}
        status = client.get("/status").json()
        assert status["archive"] is None and status["source"]["online"] is False


def test_the_embedded_gallery_is_linked_at_the_host_the_browser_used(
    serve_app: Callable[..., Running],
    tls_files: TLSFiles,
    client_ssl_context: ssl.SSLContext,
    tmp_path: Path,
) -> None:
    # yardcam run --host 0.0.0.0: a phone opens https://192.168.1.20:8443/, and its motion
    # events must link to that box's gallery, not to the phone's own localhost.
    settings = cam_settings(tmp_path, gallery_url="https://{host}:8444/gallery")
    feed = CameraFeed("backyard", FrameHub(), MotionDetector())
    server = serve_app(create_app([feed], settings), tls=tls_files)
    with httpx.Client(base_url=server.url, verify=client_ssl_context) as client:
        log_in(client)
        for host, gallery in [
            ("192.168.1.20:8443", "https://192.168.1.20:8444/gallery"),
            ("yardcam.lan", "https://yardcam.lan:8444/gallery"),
            ("[fd00::20]:8443", "https://[fd00::20]:8444/gallery"),
        ]:
            assert client.get("/status", headers={"host": host}).json()["gallery"] == gallery
            page = client.get("/", headers={"host": host}).text  # what dashboard.js links to
            assert json.dumps(gallery)[1:-1] in page
        assert client.get("/status").json()["gallery"] == "https://127.0.0.1:8444/gallery"


@pytest.mark.parametrize("path", ["/stream.jpg", "/stream.mjpg", "/cameras/backyard/stream.jpg"])
def test_stream_is_mjpeg_with_boundary_frame(client: httpx.Client, path: str) -> None:
    with client.stream("GET", path) as response:
        content_type = response.headers["content-type"]
        assert content_type == "multipart/x-mixed-replace; boundary=frame"
        parser = MjpegParser(boundary_from_content_type(content_type))
        frames: list[bytes] = []
        chunks = response.iter_raw()  # kept alive: a dropped iterator closes the connection
        while len(frames) < 3:
            frames += parser.feed(next(chunks))
        assert all(simplejpeg.decode_jpeg_header(f)[:2] == (HEIGHT, WIDTH) for f in frames)
        assert client.get("/status").json()["viewers"]["preview"] == 1
    wait_for(lambda: client.get("/status").json()["viewers"]["preview"] == 0, "stream end")


def test_stream_takes_a_lower_fps_and_refuses_nonsense(client: httpx.Client) -> None:
    with client.stream("GET", "/stream.jpg?fps=2") as response:
        assert response.status_code == 200
    for bad in ("abc", "0", "-3"):
        refused = client.get(f"/stream.jpg?fps={bad}")
        assert refused.status_code == 400 and "fps" in refused.json()["error"]


def test_config_get_and_post(cam_server: CamServer, client: httpx.Client) -> None:
    csrf = {"x-csrf-token": client.csrf}  # type: ignore[attr-defined]
    config = client.get("/config").json()
    assert config["zones"] == [] and config["cooldown"] == 0.0
    assert config["threshold"] == 12 and isinstance(config["threshold"], int)  # not 12.0
    assert set(config["counters"]) == {"frames", "triggers", "skipped"}
    ok = client.post("/config", json={"threshold": 30}, headers=csrf)
    assert ok.status_code == 200 and ok.json() == {"ok": True, "threshold": 30}
    assert cam_server.detector.threshold == 30
    refusals = [
        ({"json": {}}, "missing threshold"),
        ({"json": {"level": 3}}, "missing threshold"),
        ({"json": [3]}, "missing threshold"),
        ({"json": {"threshold": "abc"}}, "threshold must be an integer"),
        ({"json": {"threshold": 12.5}}, "threshold must be an integer"),
        ({"json": {"threshold": True}}, "threshold must be an integer"),
        ({"json": {"threshold": None}}, "threshold must be an integer"),
        ({"json": {"threshold": 101}}, "threshold out of range"),
        ({"json": {"threshold": -1}}, "threshold out of range"),
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, "bad json"),
    ]
    for kwargs, reason in refusals:
        headers = {**csrf, **kwargs.pop("headers", {})}
        response = client.post("/config", headers=headers, **kwargs)
        assert response.status_code == 400, kwargs
        assert response.json() == {"ok": False, "error": reason}
    assert cam_server.detector.threshold == 30
    # The plain HTML form (no JavaScript) works too, with its csrf_token field.
    form = client.post("/config", data={"threshold": "7", "csrf_token": client.csrf})  # type: ignore[attr-defined]
    assert form.status_code == 303 and cam_server.detector.threshold == 7
    assert load_camera_state(cam_server.data_dir, "backyard") == {"threshold": 7}


def test_threshold_survives_a_restart(
    serve_app: Callable[..., Running],
    tls_files: TLSFiles,
    client_ssl_context: ssl.SSLContext,
    tmp_path: Path,
) -> None:
    for expected, new in ((12.0, 42), (42, None)):
        detector = MotionDetector(threshold=12.0)
        app = create_app([CameraFeed("backyard", FrameHub(), detector)], cam_settings(tmp_path))
        server = serve_app(app, tls=tls_files)
        with httpx.Client(base_url=server.url, verify=client_ssl_context) as client:
            log_in(client)
            assert client.get("/config").json()["threshold"] == expected
            if new is not None:
                headers = {"x-csrf-token": client.csrf}  # type: ignore[attr-defined]
                assert client.post("/config", json={"threshold": new}, headers=headers).is_success
        server.server.should_exit = True
    state = json.loads((tmp_path / "state.json").read_text())
    assert state == {"version": 1, "cameras": {"backyard": {"threshold": 42}}}


def test_unknown_paths_are_404_json_or_html(client: httpx.Client) -> None:
    api = client.get("/nope/nothing")
    assert api.status_code == 404
    assert api.json() == {"error": "not found", "path": "/nope/nothing"}
    page = client.get("/nope", headers={"accept": "text/html,*/*"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "Nothing lives at" in page.text
    assert client.get("/cameras/ghost/status").json()["error"] == "not found"


def test_events_push_motion_with_ids(cam_server: CamServer, client: httpx.Client) -> None:
    with client.stream("GET", "/events") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        messages = sse_messages(response.iter_lines())
        first = next(m for m in messages if "event" in m)
        assert first["event"] == "state" and first["data"]["viewers"]["events"] == 1
        assert client.get("/motion.jpg").json() == {"error": "no motion since the cam started"}
        cam_server.source.moving.set()
        seen: list[dict[str, Any]] = []
        for message in itertools.islice(messages, 400):  # a cap, never a hang
            seen.append(message)
            kinds = {m.get("event") for m in seen} | {m.get("comment") for m in seen}
            if {"motion", "event", "keepalive"} <= kinds:
                break
        motion = next(m for m in seen if m.get("event") == "motion")
        assert {"ts", "count", "change"} <= set(motion["data"])
        assert motion["data"]["count"] == 1 and motion["data"]["change"] > 12.0
        assert all(m["id"].isdigit() for m in seen if "event" in m)  # an id on each
        assert {"comment": "keepalive"} in seen  # every 0.3 s here, 15 s by default
        event = next(m["data"] for m in seen if m.get("event") == "event")
        assert event["phase"] == "start" and event["camera"] == "backyard"
    recent = client.get("/status").json()["events"][0]
    assert recent["id"] == event["id"] and recent["peak_change"] >= event["peak_change"]
    thumb = client.get(f"/motion/{event['id']}.jpg")
    assert simplejpeg.decode_jpeg_header(thumb.content)[:2] == (HEIGHT, WIDTH)
    trigger = client.get("/motion.jpg")
    assert simplejpeg.decode_jpeg_header(trigger.content)[:2] == (HEIGHT, WIDTH)


def test_events_replay_what_a_reconnecting_client_missed(
    cam_server: CamServer, client: httpx.Client
) -> None:
    with client.stream("GET", "/events") as response:
        first = next(m for m in sse_messages(response.iter_lines()) if "event" in m)
    last_id = first["id"]
    cam_server.source.moving.set()  # motion fires while the client is away
    wait_for(lambda: client.get("/status").json()["triggers"] >= 3, "3 triggers")
    with client.stream("GET", "/events", headers={"last-event-id": last_id}) as response:
        events = sse_events(response.iter_lines())
        motion = (data["count"] for kind, data in events if kind == "motion")
        assert list(itertools.islice(motion, 3)) == [1, 2, 3]  # from the first on: none missed


def test_control_websocket(
    cam_server: CamServer, client: httpx.Client, client_ssl_context: ssl.SSLContext
) -> None:
    cookie = f"yardcam_cam={client.cookies['yardcam_cam']}"
    with control_socket(cam_server.url, client_ssl_context, cookie=cookie) as ws:
        ws.send("{nope")
        assert json.loads(ws.recv(timeout=10)) == {"ok": False, "error": "bad json"}
        ws.send(json.dumps({"cmd": "dance"}))
        assert json.loads(ws.recv(timeout=10)) == {"ok": False, "error": "unknown command"}
        ws.send(json.dumps({"cmd": "set_threshold", "threshold": 25}))
        assert json.loads(ws.recv(timeout=10)) == {
            "ok": True,
            "cmd": "set_threshold",
            "threshold": 25,
        }
        assert cam_server.detector.threshold == 25
        ws.send(json.dumps({"cmd": "set_threshold", "threshold": 250}))
        assert json.loads(ws.recv(timeout=10))["error"] == "threshold out of range"
        wait_for(lambda: cam_server.hub.latest, "a frame")
        ws.send(json.dumps({"cmd": "snapshot_now"}))
        reply = json.loads(ws.recv(timeout=10))
        path = Path(reply["path"])
        assert reply["ok"] and path.is_relative_to(cam_server.data_dir)
        assert simplejpeg.decode_jpeg_header(path.read_bytes())[:2] == (HEIGHT, WIDTH)
        cam_server.detector.trigger_count = 5
        ws.send(json.dumps({"cmd": "reset"}))
        assert json.loads(ws.recv(timeout=10)) == {"ok": True, "cmd": "reset", "triggers": 0}
        assert cam_server.detector.trigger_count == 0


def test_control_snapshot_before_the_first_frame(
    serve_app: Callable[..., Running],
    tls_files: TLSFiles,
    client_ssl_context: ssl.SSLContext,
    tmp_path: Path,
) -> None:
    app = create_app([CameraFeed("yard", FrameHub(), MotionDetector())], cam_settings(tmp_path))
    server = serve_app(app, tls=tls_files)
    with httpx.Client(base_url=server.url, verify=client_ssl_context) as client:
        log_in(client)
        cookie = f"yardcam_cam={client.cookies['yardcam_cam']}"
    with control_socket(server.url, client_ssl_context, cookie=cookie) as ws:
        ws.send(json.dumps({"cmd": "snapshot_now"}))
        reply = json.loads(ws.recv(timeout=10))
        assert reply == {"ok": False, "cmd": "snapshot_now", "reason": "no frame yet"}


@pytest.mark.parametrize(
    ("origin", "opens"),
    [("https://evil.example", False), (PANEL, True), (None, True)],
)
def test_control_checks_the_origin_on_the_handshake(
    cam_server: CamServer,
    client: httpx.Client,
    client_ssl_context: ssl.SSLContext,
    origin: str | None,
    opens: bool,
) -> None:
    headers: dict[str, Any] = {"cookie": f"yardcam_cam={client.cookies['yardcam_cam']}"}
    if origin:
        headers["origin"] = origin
    if opens:
        with control_socket(cam_server.url, client_ssl_context, **headers) as ws:
            ws.send(json.dumps({"cmd": "reset"}))
            assert json.loads(ws.recv(timeout=10))["ok"]
    else:
        with pytest.raises(InvalidStatus) as refused:
            control_socket(cam_server.url, client_ssl_context, **headers)
        assert refused.value.response.status_code == 403


def test_reset_zeroes_the_shown_count_but_never_the_triggers_counter(
    cam_server: CamServer, client: httpx.Client, client_ssl_context: ssl.SSLContext
) -> None:
    # yardcam_triggers_total is a Prometheus counter: if it went down, Prometheus would take it
    # for a restart and rate() would be wrong. 'reset' is for the count /status shows.
    def triggers_metric() -> float:
        line = 'yardcam_triggers_total{camera="backyard"} '
        text = client.get("/metrics").text
        return float(next(s for s in text.splitlines() if s.startswith(line))[len(line) :])

    cam_server.source.moving.set()
    wait_for(lambda: triggers_metric() >= 2, "2 triggers")
    cam_server.source.moving.clear()
    before = triggers_metric()
    cookie = f"yardcam_cam={client.cookies['yardcam_cam']}"
    with control_socket(cam_server.url, client_ssl_context, cookie=cookie) as ws:
        ws.send(json.dumps({"cmd": "reset"}))
        assert json.loads(ws.recv(timeout=10))["ok"]
    assert client.get("/status").json()["triggers"] < before
    assert triggers_metric() >= before


def test_healthz_and_metrics(
    cam_server: CamServer, client: httpx.Client, client_ssl_context: ssl.SSLContext
) -> None:
    wait_for(lambda: client.get("/status").json()["source"]["online"], "online")
    with httpx.Client(base_url=cam_server.url, verify=client_ssl_context) as anonymous:
        health = anonymous.get("/healthz").json()  # no login needed
        assert anonymous.get("/metrics").status_code == 401
    assert health == {"ok": True, "cameras_online": {"backyard": True}}
    metrics = client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = metrics.text
    for line in (
        'yardcam_frames_total{camera="backyard"}',
        'yardcam_triggers_total{camera="backyard"}',
        'yardcam_skipped_frames_total{camera="backyard"}',
        'yardcam_detector_fps{camera="backyard"}',
        'yardcam_change{camera="backyard"}',
        'yardcam_source_up{camera="backyard"} 1.0',
        'yardcam_outbox_pending{camera="backyard"} 0.0',
        'yardcam_outbox_sent_total{camera="backyard"} 3.0',
        'yardcam_outbox_dead{camera="backyard"} 0.0',
        'yardcam_upload_latency_seconds{camera="backyard"} 0.25',
    ):
        assert line in text, line


async def test_another_yardcam_pulls_the_stream_with_a_token_and_a_ca_bundle(
    cam_server: CamServer, tls_files: TLSFiles
) -> None:
    """The README's ``--source https://other-cam:8443/stream.mjpg``: a read token and the
    other cam's CA bundle are all a yardcam source needs.
    """
    from yardcam.camera import MjpegSource
    from yardcam.dashboard import create_api_token

    token_file = cam_server.data_dir / "other-cam-token"
    token_file.write_text(create_api_token(cam_server.data_dir, "other-cam", "read") + "\n")
    source = MjpegSource(
        cam_server.url + "/stream.mjpg", token_file=token_file, ca_bundle=tls_files.ca_pem
    )
    frames = source.frames()
    frame = await anext(frames)
    await frames.aclose()  # type: ignore[attr-defined]
    assert (frame.width, frame.height) == (WIDTH, HEIGHT)


def test_control_over_wsproto(
    serve_app: Callable[..., Running],
    tls_files: TLSFiles,
    client_ssl_context: ssl.SSLContext,
    tmp_path: Path,
) -> None:
    """The WebSocket library a base install has (the tests' venv also has ``websockets``)."""
    feed = CameraFeed("yard", FrameHub(), MotionDetector())
    server = serve_app(create_app([feed], cam_settings(tmp_path)), tls=tls_files, ws="wsproto")
    with httpx.Client(base_url=server.url, verify=client_ssl_context) as client:
        log_in(client)
        cookie = f"yardcam_cam={client.cookies['yardcam_cam']}"
    with control_socket(server.url, client_ssl_context, cookie=cookie) as ws:
        ws.send(json.dumps({"cmd": "set_threshold", "threshold": 9}))
        assert json.loads(ws.recv(timeout=10))["threshold"] == 9
    with pytest.raises(InvalidStatus) as refused:
        control_socket(server.url, client_ssl_context)
    assert refused.value.response.status_code == 401


def test_the_config_contract_examples_run() -> None:
    import doctest

    import yardcam.dashboard._config

    assert doctest.testmod(yardcam.dashboard._config).failed == 0
