"""Where to look: zones to watch and masks to ignore, in full-frame pixel coordinates.

They are rasterised once per frame size onto the detector's small analysis grid by testing each
analysis pixel's centre, so a zone costs nothing per frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Rect:
    """``x, y`` top-left corner, ``width, height`` in full-frame pixels."""

    x: float
    y: float
    width: float
    height: float

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"a rectangle needs a positive size, not {self.width}x{self.height}")

    def contains(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        return (
            (xs >= self.x)
            & (xs < self.x + self.width)
            & (ys >= self.y)
            & (ys < self.y + self.height)
        )


@dataclass(frozen=True, slots=True)
class Polygon:
    """Vertices ``((x, y), ...)`` in full-frame pixels; inside by the even-odd rule."""

    points: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        if len(self.points) < 3:
            raise ValueError("a polygon needs at least 3 points")

    def contains(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        inside = np.zeros(np.broadcast(xs, ys).shape, bool)
        pts = self.points
        for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1], strict=True):
            if y0 == y1:
                continue  # a horizontal edge never crosses a horizontal ray
            crosses = (y0 > ys) != (y1 > ys)
            x_at = x0 + (ys - y0) * (x1 - x0) / (y1 - y0)
            inside ^= crosses & (xs < x_at)
        return inside


Zone = Rect | Polygon


def parse_zone(spec: str) -> Zone:
    """``rect:X,Y,W,H`` or ``poly:X1,Y1,X2,Y2,X3,Y3,...`` (full-frame pixels), for configs and CLIs.

    >>> parse_zone("rect:0,0,640,120")
    Rect(x=0.0, y=0.0, width=640.0, height=120.0)
    """
    kind, _, numbers = spec.partition(":")
    try:
        values = [float(v) for v in numbers.split(",")]
        if kind == "rect" and len(values) == 4:
            return Rect(*values)
        if kind == "poly" and len(values) % 2 == 0:
            return Polygon(tuple(zip(values[::2], values[1::2], strict=True)))
    except ValueError as exc:
        raise ValueError(f"bad zone {spec!r}: {exc}") from None
    raise ValueError(f"bad zone {spec!r}: use rect:X,Y,W,H or poly:X1,Y1,X2,Y2,X3,Y3,...")


def watch_mask(
    shape: tuple[int, int],
    frame_size: tuple[int, int],
    zones: Sequence[Zone],
    masks: Sequence[Zone],
) -> np.ndarray:
    """Which analysis pixels of grid ``shape`` (rows, cols) are watched, for a frame of
    ``frame_size`` (width, height): inside any zone (everywhere if none) and outside every mask."""
    rows, cols = shape
    width, height = frame_size
    ys = ((np.arange(rows) + 0.5) * height / rows)[:, None]
    xs = ((np.arange(cols) + 0.5) * width / cols)[None, :]
    watched = np.zeros(shape, bool) if zones else np.ones(shape, bool)
    for zone in zones:
        watched |= zone.contains(xs, ys)
    for mask in masks:
        watched &= ~mask.contains(xs, ys)
    return watched
