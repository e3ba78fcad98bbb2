"""What the cam's web app is configured with, and the cameras it shows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..camera import FrameHub
from ..motion import MotionDetector
from ..web import Accounts, WebSettings

StatsFn = Callable[[], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class CameraFeed:
    """One camera as the web app sees it: its ``name`` (as in the archive), the ``hub`` its
    frames arrive on, its ``detector``, and ``archive_stats`` (its ``Uploader.stats``; None when
    nothing is archived). The first feed given to ``create_app`` answers the tutorial's
    single-camera routes (``/status``, ``/stream.jpg``...); every feed has ``/cameras/NAME/...``.
    """

    name: str
    hub: FrameHub
    detector: MotionDetector
    archive_stats: StatsFn | None = None

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name:
            raise ValueError(f"camera name must be non-empty and without '/': {self.name!r}")


@dataclass(frozen=True, slots=True)
class DashboardSettings:
    """``web`` (secret, cookie name, Secure flag...) and ``accounts`` come from ``yardcam.web``.

    ``data_dir``: the data directory (``yardcam run --data-dir``): ``state.json`` (settings
    changed in the app, kept across restarts), and under ``cam/`` the JWT secret, API tokens,
    the session registry and snapshots.
    ``state_interval``: seconds between the dashboard's counter refreshes (motion itself is
    pushed the instant it fires). ``preview_fps``: cap on the live preview's frame rate per
    viewer, to spare a small box's uplink; None sends every new frame (a viewer may ask for less
    with ``?fps=``). ``keepalive``: seconds between SSE comments that keep proxies from closing
    an idle stream. ``gallery_url``: the archive's gallery, for links from motion events;
    ``{host}`` in it stands for the host name each browser reached the dashboard at (an
    archive on the same box: ``https://{host}:8444/gallery``).
    ``ca_file``: the certificate a client must trust to reach this cam over https (the
    self-signed ``DATA/tls/cert.pem`` when the cam made its own; None for a certificate that
    clients trust already), for the ``curl --cacert`` line the API tokens page prints.
    """

    web: WebSettings
    accounts: Accounts
    data_dir: Path
    name: str = "yardcam"
    state_interval: float = 1.0
    preview_fps: float | None = None
    keepalive: float = 15.0
    gallery_url: str | None = None
    ca_file: Path | None = None

    def __post_init__(self) -> None:
        if self.state_interval <= 0:
            raise ValueError("state_interval must be positive")
        if self.preview_fps is not None and self.preview_fps <= 0:
            raise ValueError("preview_fps must be positive (or None for every frame)")
        if self.keepalive <= 0:
            raise ValueError("keepalive must be positive")

    @property
    def cam_dir(self) -> Path:
        return self.data_dir / "cam"
