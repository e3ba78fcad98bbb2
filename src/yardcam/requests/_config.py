"""Per-request settings that are not part of the request itself: timeouts and the "unset" sentinel.

``None`` already means "no timeout", so a separate sentinel marks "argument not given, use the
session's value".
"""

from __future__ import annotations

import enum
from typing import NamedTuple

from yardcam.requests.exceptions import InvalidRequest

__all__ = ["DEFAULT_TIMEOUT", "UNSET", "TimeoutConfig", "Unset", "resolve_timeout"]


class Unset(enum.Enum):
    """The type of :data:`UNSET`."""

    UNSET = enum.auto()

    def __repr__(self) -> str:
        return "UNSET"


UNSET = Unset.UNSET


class TimeoutConfig(NamedTuple):
    """Seconds to wait for a connection (DNS + TCP + TLS) and between bytes of the response.

    None waits forever.
    """

    connect: float | None
    read: float | None


# A camera must never hang on a dead network: every call is bounded unless timeout=None is asked.
DEFAULT_TIMEOUT = TimeoutConfig(connect=5.0, read=30.0)


def resolve_timeout(value: object) -> TimeoutConfig:
    """Turn ``timeout=`` (a number, ``(connect, read)`` or None) into a :class:`TimeoutConfig`."""
    if value is None:
        return TimeoutConfig(None, None)
    if isinstance(value, TimeoutConfig):
        return value
    if isinstance(value, tuple):
        if len(value) != 2:
            raise InvalidRequest(f"timeout tuple must be (connect, read), got {value!r}")
        return TimeoutConfig(_seconds(value[0]), _seconds(value[1]))
    seconds = _seconds(value)
    return TimeoutConfig(seconds, seconds)


def _seconds(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidRequest(f"timeout must be a number of seconds or None, got {value!r}")
    if value <= 0:
        raise InvalidRequest(f"timeout must be positive, got {value!r}")
    return float(value)
