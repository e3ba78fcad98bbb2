"""Several cameras in one app: /status lists all, each has its routes, the page a tile each."""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from dashboard.conftest import log_in
from dashboard.dashboard_client import control_socket, wait_for
from dashboard.dashboard_support import SteerableSource, cam_settings
from serving import Running, TLSFiles
from yardcam.camera import FrameHub
from yardcam.dashboard import CameraFeed, create_app
from yardcam.motion import MotionDetector


def test_every_camera_has_its_routes(
    serve_app: Callable[..., Running],
    tls_files: TLSFiles,
    client_ssl_context: ssl.SSLContext,
    tmp_path: Path,
) -> None:
    front, back = SteerableSource(), SteerableSource()
    feeds = [CameraFeed(name, FrameHub(), MotionDetector()) for name in ("front", "back")]
    tasks = [lambda f=f, s=s: f.hub.run(s) for f, s in zip(feeds, (front, back), strict=True)]
    app = create_app(feeds, cam_settings(tmp_path), tasks=tasks)
    server = serve_app(app, tls=tls_files)
    with httpx.Client(base_url=server.url, verify=client_ssl_context) as client:
        log_in(client)
        status = client.get("/status").json()
        assert status["camera"] == "front"  # the tutorial's routes serve the first camera
        assert [c["camera"] for c in status["cameras"]] == ["front", "back"]
        assert client.get("/cameras/back/status").json()["camera"] == "back"
        wait_for(lambda: client.get("/cameras/back/snapshot.jpg").is_success, "back's frame")
        csrf = {"x-csrf-token": client.csrf}  # type: ignore[attr-defined]
        assert client.post("/cameras/back/config", json={"threshold": 33}, headers=csrf).is_success
        assert feeds[1].detector.threshold == 33 and feeds[0].detector.threshold == 12
        page = client.get("/cameras/back").text
        assert page.count('class="tile card"') == 2 and 'action="/cameras/back/config"' in page
        assert client.get("/cameras/ghost", headers={"accept": "text/html"}).status_code == 404
        cookie = f"yardcam_cam={client.cookies['yardcam_cam']}"
    with control_socket(
        server.url, client_ssl_context, "/cameras/back/control", cookie=cookie
    ) as ws:
        ws.send(json.dumps({"cmd": "set_threshold", "threshold": 44}))
        assert json.loads(ws.recv(timeout=10))["ok"]
    assert feeds[1].detector.threshold == 44 and feeds[0].detector.threshold == 12
    state = json.loads((tmp_path / "state.json").read_text())["cameras"]
    assert state == {"back": {"threshold": 44}}


def test_camera_names_must_be_unique(tmp_path: Path) -> None:
    feeds = [CameraFeed("yard", FrameHub(), MotionDetector()) for _ in range(2)]
    with pytest.raises(ValueError, match="unique"):
        create_app(feeds, cam_settings(tmp_path))
    with pytest.raises(ValueError, match="at least one"):
        create_app([], cam_settings(tmp_path))


def test_public_surface() -> None:
    import yardcam.dashboard as dashboard

    assert dashboard.__all__ == [
        "ApiToken",
        "CameraFeed",
        "DashboardSettings",
        "create_api_token",
        "create_app",
        "list_api_tokens",
        "load_camera_state",
        "revoke_api_token",
    ]
