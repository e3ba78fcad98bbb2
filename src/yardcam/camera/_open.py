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

_SCENE_INTS = ("seed", "width", "height", "quality")
_SCENE_FLAGS = (
    "noise",
    "drift",
    "bush",
    "objects",
    "gusts",
    "dusk",
    "night",
    "switch",
    "requality",
)
_SCENE_CHOICES = {"people": ("near", "far", "both")}
_SIZES = {"360p": (640, 360), "480p": (854, 480), "720p": (1280, 720), "1080p": (1920, 1080)}
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}
_SCENE_HELP = (
    "options are NAME=VALUE or a bare flag, comma-separated: "
    + ", ".join(f"{name}=N" for name in _SCENE_INTS)
    + ", size=WxH or "
    + "|".join(_SIZES)
    + ", people=near|far|both, and the on/off flags "
    + ", ".join(_SCENE_FLAGS)
    + " (a bare flag is on; =0 or =off turns it off)"
)


def open_source(
    spec: str = "synthetic", *, fps: float | None = 10.0, **options: Any
) -> FrameSource:
    """The source named by ``spec``; ``options`` are that source's keyword arguments.

    - ``synthetic[:OPTIONS]`` - the rendered yard; options as in
      ``synthetic:people=far,gusts,night,size=1080p,seed=3`` (``SyntheticScene`` says what each
      one does; a bad one is refused with the list of valid ones)
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
        try:
            scene = SyntheticScene(fps=fps or 10.0, **scene_options)
        except ValueError as exc:  # a size out of range, a quality libjpeg cannot use
            raise InvalidSource(f"bad synthetic scene {spec!r}: {exc}") from exc
        return SyntheticSource(scene, fps=fps)
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
    """``people=far,gusts,size=1280x720`` as ``SyntheticScene`` keywords."""
    options: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, eq, value = (part.strip() for part in item.partition("="))
        name, value = name.lower(), value.lower()
        if name in _SCENE_INTS and eq and value.isdigit():
            options[name] = int(value)
        elif name in _SCENE_FLAGS and (not eq or value in _TRUE | _FALSE):
            options[name] = not eq or value in _TRUE
        elif name in _SCENE_CHOICES and value in _SCENE_CHOICES[name]:
            options[name] = value
        elif name == "size" and (size := _size(value)):
            options["width"], options["height"] = size
        else:
            raise InvalidSource(f"bad synthetic option {item!r}: {_SCENE_HELP}")
    return options


def _size(text: str) -> tuple[int, int] | None:
    if text in _SIZES:
        return _SIZES[text]
    width, x, height = text.partition("x")
    if x and width.isdigit() and height.isdigit():
        return int(width), int(height)
    return None
