"""Helpers for the cam tests: a source the test can steer, settings, the served cam's parts.

The source shows a still textured yard until ``moving`` is set, then a big bright box sweeping
across (a change of about 35 of 100, well above the default threshold of 12).
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import simplejpeg

from web.websupport import CHEAP, PASSWORD
from yardcam.camera import Frame, FrameHub
from yardcam.dashboard import DashboardSettings
from yardcam.motion import MotionDetector
from yardcam.web import Accounts, WebSettings

WIDTH, HEIGHT = 320, 240


class SteerableSource:
    """A FrameSource at ``fps``; set ``moving`` from any thread to start motion."""

    def __init__(self, fps: float = 20.0) -> None:
        self.fps = fps
        self.moving = threading.Event()
        self.dead = threading.Event()  # set: the camera is unplugged (frames() fails)
        rng = np.random.default_rng(7)
        self.still = (rng.integers(60, 120, (HEIGHT, WIDTH, 1)) * np.ones((1, 1, 3))).astype(
            np.uint8
        )

    def render(self, index: int) -> bytes:
        image = self.still
        if self.moving.is_set():
            image = image.copy()
            x = (index * 16) % (WIDTH - 160)
            image[30:210, x : x + 160] = 250
        return simplejpeg.encode_jpeg(image, quality=80)

    async def frames(self) -> AsyncIterator[Frame]:
        index = 0
        while True:
            if self.dead.is_set():
                raise OSError("camera unplugged")
            jpeg = self.render(index)
            yield Frame(jpeg, ts=index / self.fps, seq=index, width=WIDTH, height=HEIGHT)
            index += 1
            await asyncio.sleep(1 / self.fps)


def archive_stats() -> dict[str, Any]:
    """What ``Uploader.stats()`` returns, for a cam whose archive is healthy."""
    return {
        "state": "ok",
        "pending": 0,
        "in_flight": 0,
        "sent": 3,
        "dead_lettered": 0,
        "last_error": None,
        "last_upload_seconds": 0.25,
    }


@dataclass
class CamServer:
    url: str
    source: SteerableSource
    hub: FrameHub
    detector: MotionDetector
    accounts: Accounts
    data_dir: Path
    app: Any = None


#: The archive gallery the test cam links its motion events to (never fetched).
GALLERY = "https://archive.example/gallery"


def cam_settings(
    data_dir: Path, *, origins: tuple[str, ...] = (), **overrides: Any
) -> DashboardSettings:
    accounts = Accounts(hasher=CHEAP)
    accounts.set_password("owner", PASSWORD)
    web = WebSettings(
        secret_key=secrets.token_urlsafe(32), cookie_name="yardcam_cam", cors_origins=origins
    )
    return DashboardSettings(
        web=web, accounts=accounts, data_dir=data_dir, name="backyard", **overrides
    )
