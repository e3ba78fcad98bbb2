"""What the cam's web app is configured with."""

from __future__ import annotations

from dataclasses import dataclass

from ..web import Accounts, WebSettings


@dataclass(frozen=True, slots=True)
class DashboardSettings:
    """``web`` (secret, cookie name, Secure flag...) and ``accounts`` come from ``yardcam.web``.

    ``state_interval``: seconds between the dashboard's counter refreshes (motion itself is
    pushed the instant it fires). ``preview_fps``: cap on the live preview's frame rate per
    viewer, to spare a small box's uplink; None sends every new frame.
    """

    web: WebSettings
    accounts: Accounts
    name: str = "yardcam"
    state_interval: float = 1.0
    preview_fps: float | None = None

    def __post_init__(self) -> None:
        if self.state_interval <= 0:
            raise ValueError("state_interval must be positive")
        if self.preview_fps is not None and self.preview_fps <= 0:
            raise ValueError("preview_fps must be positive (or None for every frame)")
