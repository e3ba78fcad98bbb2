"""A cam app over real TLS with the real FrameHub and MotionDetector, fed by a steerable source."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from dashboard.dashboard_support import CamServer, SteerableSource, archive_stats, cam_settings
from serving import Running, TLSFiles
from web.websupport import PASSWORD, form_token
from yardcam.camera import FrameHub
from yardcam.dashboard import create_app
from yardcam.motion import MotionDetector


@pytest.fixture
def cam_server(serve_app: Callable[..., Running], tls_files: TLSFiles) -> CamServer:
    source = SteerableSource()
    hub = FrameHub()
    detector = MotionDetector(threshold=12.0)
    settings = cam_settings(state_interval=0.2)
    app = create_app(
        hub,
        detector,
        archive_stats,
        settings,
        tasks=[lambda: hub.run(source), lambda: detector.run(hub)],
    )
    running = serve_app(app, tls=tls_files)
    return CamServer(running.url, source, hub, detector, settings.accounts)


@pytest.fixture
def client(cam_server: CamServer, client_ssl_context: Any) -> Iterator[httpx.Client]:
    """Logged in as ``owner``; its ``csrf`` attribute holds the session's CSRF token."""
    with httpx.Client(base_url=cam_server.url, verify=client_ssl_context, timeout=10) as client:
        token = form_token(client.get("/login").text)
        data = {"username": "owner", "password": PASSWORD, "csrf_token": token, "next": "/"}
        assert client.post("/login", data=data).status_code == 303
        client.csrf = form_token(client.get("/").text)  # type: ignore[attr-defined]
        yield client
