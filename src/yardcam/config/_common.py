"""What the cam and the archive node configure alike: logging, retention, serving limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from yardcam.archive import Retention
from yardcam.web import ServingLimits

from ._fields import at_least, setting, within

LogFormat = Literal["text", "json"]
LogLevel = Literal["debug", "info", "warning", "error"]
LOG_LEVELS: tuple[str, ...] = get_args(LogLevel)  # the --log-level choices


@dataclass(frozen=True, slots=True)
class RetentionConfig:
    """``[retention]``: how long the embedded archive keeps each camera's frames."""

    max_age_days: float | None = setting(
        None,
        help="delete frames older than this (none: keep)",
        check=at_least(0.001),
        flag="--max-age",  # yardcam archive's; the cam has no retention flags
        example=30.0,
    )
    max_bytes: int | None = setting(
        None,
        help="bytes kept per camera (none: no bound)",
        check=at_least(1),
        example=50_000_000_000,
    )

    def limits(self) -> Retention | None:
        """The archive's :class:`Retention` for these keys, or None when neither is set."""
        if self.max_age_days is None and self.max_bytes is None:
            return None
        max_age = None if self.max_age_days is None else self.max_age_days * 86400.0
        return Retention(max_age=max_age, max_bytes=self.max_bytes)


@dataclass(frozen=True, slots=True)
class ServingConfig:
    """``[serving]``: what web clients may take from the process (``yardcam.web.Server``).

    The defaults keep a slowloris from starving the frame path of file descriptors; raise
    ``max_connections`` only with the open-file limit (``LimitNOFILE=``) to match.
    """

    head_timeout: float = setting(
        10.0,
        help="seconds for a request head to arrive, TLS handshake included",
        check=within(1, 300),
    )
    body_timeout: float = setting(
        30.0,
        help="seconds a request body may go without a byte arriving",
        check=within(1, 3600),
    )
    keep_alive: int = setting(
        5, help="seconds an idle keep-alive connection is kept", check=within(1, 300)
    )
    max_connections: int = setting(
        1000, help="open web connections at most, per app", check=within(1, 100_000)
    )
    fd_reserve: int = setting(
        64,
        help="file descriptors kept for frames, uploads and the index, never for web clients",
        check=within(2, 10_000),
    )
    max_head_bytes: int = setting(
        16 * 1024,
        help="bytes of request line + headers (more: 400)",
        check=within(1024, 1024 * 1024),
    )

    def limits(self) -> ServingLimits:
        return ServingLimits(
            head_timeout=self.head_timeout,
            body_timeout=self.body_timeout,
            keep_alive=self.keep_alive,
            max_connections=self.max_connections,
            fd_reserve=self.fd_reserve,
            max_head_bytes=self.max_head_bytes,
        )
