"""``open_source``: one URL-like string picks and configures a frame source."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._errors import InvalidSource
from ._folder import FolderSource
from ._frame import FrameSource
from ._mjpeg import MjpegSource
from ._opencv import OpenCVSource
from ._scene import SyntheticScene
from ._synthetic import SyntheticSource

_SCENE_INTS = {"seed", "width", "height", "quality"}
_SCENE_FLAGS = {"noise", "drift", "bush", "objects"}
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def open_source(
    spec: str = "synthetic", *, fps: float | None = 10.0, **options: Any
) -> FrameSource:
    """The source named by ``spec``; ``options`` are that source's keyword arguments.

    - ``synthetic[:seed=N,width=W,height=H,noise=0,drift=0,bush=0,objects=0]``: the rendered yard
    - ``dir:PATH`` - JPEGs in name order (``loop=True`` to repeat)
    - ``http://...`` / ``https://...`` - an MJPEG stream (options go to the HTTP request)
    - ``device:N``, ``rtsp://...``, ``file:PATH`` or a video file path - OpenCV (``[opencv]`` extra)

    ``fps=None`` means unpaced: as fast as the source can go (tests, benchmarks).

    >>> open_source("synthetic:seed=3,width=320,height=180").scene.width
    320
    """
    kind, _, rest = spec.partition(":")
    kind = kind.lower()
    if kind == "synthetic":
        scene_options = _scene_options(rest) | options
        return SyntheticSource(SyntheticScene(fps=fps or 10.0, **scene_options), fps=fps)
    if kind == "dir":
        if not rest:
            raise InvalidSource("dir: needs a path, as in dir:/var/lib/yardcam/frames")
        return FolderSource(Path(rest), fps=fps, **options)
    if kind in {"http", "https"}:
        return MjpegSource(spec, **options)
    if kind == "device":
        try:
            index = int(rest)
        except ValueError:
            raise InvalidSource(f"device: needs a number, as in device:0, not {spec!r}") from None
        return OpenCVSource(index, **options)
    if kind == "rtsp":
        return OpenCVSource(spec, **options)
    if kind == "file":
        return OpenCVSource(rest, fps=fps, **options)
    if Path(spec).suffix and ":" not in spec:
        return OpenCVSource(spec, fps=fps, **options)
    raise InvalidSource(
        f"unknown frame source {spec!r}: "
        "use synthetic, dir:PATH, http(s)://, device:N, rtsp:// or a video file"
    )


def _scene_options(text: str) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for item in filter(None, text.split(",")):
        name, eq, value = item.partition("=")
        name = name.strip()
        value = value.strip()
        try:
            if not eq:
                raise ValueError
            if name in _SCENE_INTS:
                options[name] = int(value)
            elif name in _SCENE_FLAGS and value.lower() in _TRUE | _FALSE:
                options[name] = value.lower() in _TRUE
            else:
                raise ValueError
        except ValueError:
            raise InvalidSource(f"bad synthetic option {item!r}") from None
    return options
