"""A cam app over real TLS with the real FrameHub and MotionDetector, fed by a steerable source."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from dashboard.dashboard_support import (
    GALLERY,
    CamServer,
    SteerableSource,
    archive_stats,
    cam_settings,
)
from serving import Running, TLSFiles
from web.websupport import PASSWORD, form_token
from yardcam.camera import FrameHub
from yardcam.dashboard import CameraFeed, create_app
from yardcam.motion import MotionDetector
from yardcam.requests import Backoff

PANEL = "https://panel.example"


@pytest.fixture
def cam_server(serve_app: Callable[..., Running], tls_files: TLSFiles, tmp_path: Path) -> CamServer:
    source = SteerableSource()
    hub = FrameHub(backoff=Backoff(base=0.05, cap=0.2))  # a revived source is seen at once
    detector = MotionDetector(threshold=12.0)
    settings = cam_settings(
        tmp_path, origins=(PANEL,), state_interval=0.2, keepalive=0.3, gallery_url=GALLERY
    )
    app = create_app(
        [CameraFeed("backyard", hub, detector, archive_stats)],
        settings,
        tasks=[lambda: hub.run(source), lambda: detector.run(hub)],
    )
    running = serve_app(app, tls=tls_files)
    return CamServer(running.url, source, hub, detector, settings.accounts, tmp_path, app)


def log_in(client: httpx.Client, *, remember: bool = False) -> None:
    """Log ``client`` in as ``owner``; its ``csrf`` attribute holds the session's CSRF token."""
    token = form_token(client.get("/login").text)
    data = {"username": "owner", "password": PASSWORD, "csrf_token": token, "next": "/"}
    if remember:
        data["remember"] = "on"
    assert client.post("/login", data=data).status_code == 303
    client.csrf = form_token(client.get("/").text)  # type: ignore[attr-defined]


@pytest.fixture
def client(cam_server: CamServer, client_ssl_context: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=cam_server.url, verify=client_ssl_context, timeout=10) as client:
        log_in(client)
        yield client
