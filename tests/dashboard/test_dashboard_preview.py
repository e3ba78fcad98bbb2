"""The MJPEG stream on its own: a slow viewer skips to the newest frame, nothing queues."""

from __future__ import annotations

import asyncio
import contextlib

from yardcam.camera import Frame, FrameHub
from yardcam.dashboard._preview import BOUNDARY, Viewers, mjpeg_stream


async def always() -> bool:
    return True


async def test_a_slow_viewer_drops_frames_instead_of_queueing_them() -> None:
    hub, viewers = FrameHub(), Viewers()
    hub.publish(Frame(b"\xff\xd8one\xff\xd9", ts=0.0, seq=1, width=1, height=1))
    stream = mjpeg_stream(hub, viewers, allowed=always)
    head = await anext(stream)
    assert head.startswith(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n".encode())
    assert await anext(stream) == b"\xff\xd8one\xff\xd9"
    assert await anext(stream) == b"\r\n"
    for seq in range(2, 12):  # ten frames arrive while this viewer is busy elsewhere
        hub.publish(Frame(b"\xff\xd8%d\xff\xd9" % seq, ts=0.0, seq=seq, width=1, height=1))
    await anext(stream)
    assert await anext(stream) == b"\xff\xd811\xff\xd9"  # the newest; 2..10 were skipped
    await anext(stream)
    waiting = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)
    assert not waiting.done()  # nothing queued behind it: it waits for the next frame
    waiting.cancel()  # the client goes away, as Starlette cancels a disconnected stream
    with contextlib.suppress(asyncio.CancelledError):
        await waiting
    assert viewers.count == 0
