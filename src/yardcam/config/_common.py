"""What the cam and the archive node configure alike: logging and retention."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ._fields import at_least, setting

LogFormat = Literal["text", "json"]
LogLevel = Literal["debug", "info", "warning", "error"]


@dataclass(frozen=True, slots=True)
class RetentionConfig:
    """``[retention]``: how long the embedded archive keeps each camera's frames."""

    max_age_days: float | None = setting(
        None, help="delete frames older than this (none: keep)", check=at_least(0.001), example=30.0
    )
    max_bytes: int | None = setting(
        None,
        help="bytes kept per camera (none: no bound)",
        check=at_least(1),
        example=50_000_000_000,
    )
