"""The ``synthetic`` source: the rendered backyard of ``_scene`` served as live frames."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator

from ._frame import Frame
from ._pacing import Pacer
from ._scene import SyntheticScene


class SyntheticSource:
    """Frames ``0, 1, 2...`` of ``scene``; ``seq`` is the frame index, as in the ground truth.

    Rendering and encoding run in a worker thread (numpy and libjpeg-turbo release the GIL), so a
    live camera never stalls the event loop; ``fps=None`` renders as fast as it can.
    """

    def __init__(self, scene: SyntheticScene, *, fps: float | None = 10.0) -> None:
        self.scene = scene
        self.fps = fps

    async def frames(self) -> AsyncIterator[Frame]:
        pacer = Pacer(self.fps)
        scene = self.scene
        for index in itertools.count():
            await pacer.wait()
            jpeg = await asyncio.to_thread(scene.jpeg, index)
            yield Frame(jpeg, ts=time.time(), seq=index, width=scene.width, height=scene.height)
