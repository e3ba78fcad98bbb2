"""Frame sources and the hub that shares their newest frame with every consumer.

>>> source = open_source("synthetic:width=320,height=180", fps=None)
>>> hub = FrameHub()   # then: asyncio.create_task(hub.run(source)); await hub.next_frame()
"""

from ._errors import InvalidSource, SourceError
from ._folder import FolderSource
from ._frame import Frame, FrameSource
from ._hub import FrameHub
from ._mjpeg import MjpegParser, MjpegSource, boundary_from_content_type
from ._open import open_source
from ._opencv import OpenCVSource
from ._scene import Crossing, SyntheticScene
from ._synthetic import SyntheticSource

__all__ = [
    "Crossing",
    "FolderSource",
    "Frame",
    "FrameHub",
    "FrameSource",
    "InvalidSource",
    "MjpegParser",
    "MjpegSource",
    "OpenCVSource",
    "SourceError",
    "SyntheticScene",
    "SyntheticSource",
    "boundary_from_content_type",
    "open_source",
]
