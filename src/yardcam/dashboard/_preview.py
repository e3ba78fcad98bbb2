"""The live preview: the hub's frames as MJPEG (``multipart/x-mixed-replace``).

Each viewer waits on the hub for the newest frame after the one it last sent, so a slow viewer
skips frames instead of queueing them, and never delays the detector or another viewer. Frame
bytes are sent as they are, never copied or re-encoded per viewer. A viewer may ask for fewer
frames a second (``?fps=2`` on a metered link); it never gets more than the app's cap.
Viewers take turns (``_turns``) with every stream of the loop: a new frame wakes them all,
and each writes in a loop iteration of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

from ..camera import FrameHub
from ._turns import take_turn

BOUNDARY = "frame"  # the tutorial's; clients written against it parse this one
MEDIA_TYPE = f"multipart/x-mixed-replace; boundary={BOUNDARY}"
_RECHECK = 1.0  # seconds between login checks of an open stream


def viewer_fps(raw: str | None, cap: float | None) -> float | None:
    """The rate a viewer asked for with ``?fps=``, within the app's cap; ValueError if bad.

    >>> viewer_fps("2", 15.0), viewer_fps(None, 15.0), viewer_fps("30", 15.0)
    (2.0, 15.0, 15.0)
    """
    if raw is None:
        return cap
    try:
        fps = float(raw)
    except ValueError:
        raise ValueError("fps must be a number, as in ?fps=5") from None
    if not 0 < fps <= 1000:
        raise ValueError("fps must be above 0 (and at most 1000)")
    return min(fps, cap) if cap else fps


class Viewers:
    """How many previews are streaming (shown on the dashboard, and proof that they stop)."""

    def __init__(self) -> None:
        self.count = 0


async def mjpeg_stream(
    hub: FrameHub,
    viewers: Viewers,
    allowed: Callable[[], Awaitable[bool]],
    max_fps: float | None = None,
) -> AsyncIterator[bytes]:
    """Frames until the client disconnects (Starlette then cancels this generator), or until
    ``allowed()`` turns false (checked about once a second: the viewer's login was revoked).
    """
    loop = asyncio.get_running_loop()
    period = 1.0 / max_fps if max_fps else 0.0
    seq: int | None = None
    check_at = loop.time() + _RECHECK
    viewers.count += 1
    try:
        while True:
            frame = await hub.next_frame(seq)
            seq = frame.seq
            sent_at = loop.time()
            if sent_at >= check_at:
                if not await allowed():
                    return
                check_at = sent_at + _RECHECK
            await take_turn()  # last: nothing may suspend between the turn and the write
            yield (
                f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                f"Content-Length: {len(frame.jpeg)}\r\n\r\n"
            ).encode()
            yield frame.jpeg
            yield b"\r\n"
            if period:
                await asyncio.sleep(max(sent_at + period - loop.time(), 0))
    finally:
        viewers.count -= 1
