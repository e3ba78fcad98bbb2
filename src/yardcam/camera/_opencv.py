"""Cameras OpenCV can open: V4L2/USB devices, RTSP URLs and video files (the ``[opencv]`` extra).

``cv2.VideoCapture`` blocks, so every open and read runs in a worker thread; frames are encoded
to JPEG once, here, with libjpeg-turbo, and stay that JPEG all the way to the archive.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import simplejpeg

from ._errors import InvalidSource, SourceError
from ._frame import Frame
from ._pacing import Pacer


def _cv2() -> Any:
    try:
        import cv2
    except ImportError as exc:
        raise InvalidSource(
            "this source needs OpenCV, which is not installed: in a checkout run "
            ".venv/bin/pip install -e '.[opencv]' (elsewhere: pip install 'yardcam[opencv]')"
        ) from exc
    return cv2


class OpenCVSource:
    """``target`` is a device index or a URL/path OpenCV understands.

    Devices and RTSP streams pace themselves (``fps=None``); a video file is played at ``fps`` and
    ends, which ends the source.
    """

    def __init__(self, target: int | str, *, fps: float | None = None, quality: int = 90) -> None:
        self._cv2 = _cv2()
        self.target = target
        self.fps = fps
        self.quality = quality
        self.live = isinstance(target, int) or str(target).lower().startswith("rtsp://")

    def _open(self) -> Any:
        capture = self._cv2.VideoCapture(self.target)
        if not capture.isOpened():
            capture.release()
            raise SourceError(f"OpenCV cannot open {self.target!r}")
        return capture

    def _read(self, capture: Any) -> tuple[bytes, int, int] | None:
        ok, image = capture.read()
        if not ok:
            return None
        height, width = image.shape[:2]
        jpeg = simplejpeg.encode_jpeg(
            image, quality=self.quality, colorspace="BGR", colorsubsampling="420"
        )
        return jpeg, width, height

    async def frames(self) -> AsyncIterator[Frame]:
        pacer = Pacer(self.fps)
        capture = await asyncio.to_thread(self._open)
        try:
            seq = 0
            while (read := await asyncio.to_thread(self._read, capture)) is not None:
                jpeg, width, height = read
                await pacer.wait()
                yield Frame(jpeg, ts=time.time(), seq=seq, width=width, height=height)
                seq += 1
        finally:
            await asyncio.to_thread(capture.release)
        if self.live:
            raise SourceError(f"{self.target!r} stopped delivering frames")
