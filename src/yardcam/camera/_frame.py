"""What every source yields: one captured JPEG and the facts about it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class Frame:
    """One captured frame.

    ``jpeg`` is the full-resolution JPEG exactly as captured; nothing downstream re-encodes it, so
    the archive holds what the camera saw. ``seq`` increases by at least one per frame within one
    run of a source; ``ts`` is the capture time as ``time.time()``.
    """

    jpeg: bytes
    ts: float
    seq: int
    width: int
    height: int


@runtime_checkable
class FrameSource(Protocol):
    """Anything that yields frames; each ``frames()`` call is a fresh run (a reconnect)."""

    def frames(self) -> AsyncIterator[Frame]: ...
