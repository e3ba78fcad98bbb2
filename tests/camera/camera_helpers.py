"""Small helpers shared by the camera tests (and the motion tests)."""

import asyncio
import contextlib

from yardcam.camera import Frame, FrameSource


async def collect(source: FrameSource, n: int) -> list[Frame]:
    """Up to ``n`` frames of one run of ``source``, closing the run properly."""
    frames: list[Frame] = []
    async with contextlib.aclosing(source.frames()) as run:  # type: ignore[type-var]
        async for frame in run:
            frames.append(frame)
            if len(frames) == n:
                break
    return frames


async def stop(task: asyncio.Task) -> None:
    """Cancel a background task and wait until it has cleaned up."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
