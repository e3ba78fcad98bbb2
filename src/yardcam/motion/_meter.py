"""The change measure: one small grayscale decode, one background model, one number per frame.

Definition of ``change`` (0..100), per frame:

1. Decode the JPEG as grayscale at 1/``scale`` size with libjpeg-turbo's DCT scaling (default
   1/8: each analysis pixel is the mean of an 8x8 block, which also averages sensor noise away).
   The full-size image is never decoded.
2. Global light: ``gain`` = the median, over watched pixels (a fixed sample), of
   ``current / background``. A cloud dimming the whole yard scales every pixel alike and moves
   ``gain``, not the difference, so it is suppressed.
3. A watched pixel *changed* when ``|current - gain * background| > max(floor, k * noise)``, where
   ``noise`` is that pixel's running mean absolute deviation (its own noise floor: a swaying bush
   learns a high one, a still lawn a low one), ``floor`` the absolute minimum (default 8 levels)
   and ``k`` the sensitivity (default 4).
4. Minimum area: the grid is cut into square cells of ``cell`` full-frame pixels (default 32); a
   cell counts only when at least ``min_fill`` (default half) of its watched pixels changed, so
   scattered speckles never add up, while a solid object of half a cell or more does.
5. ``change = 100 * (changed pixels in counting cells) / (watched pixels)``.

The background follows the scene at ``learn`` per frame where nothing changed and at the much
slower ``learn_changed`` where something did, so a passer-by is not learnt while it crosses but
a parked car eventually becomes background. A change of frame size restarts the model.

Not thread-safe: one caller at a time (the detector awaits each measurement before the next).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import simplejpeg

from ._zones import Zone, watch_mask

_GAIN_SAMPLES = 2048


class ChangeMeter:
    """Background model and change measure for one camera; see the module doc for the maths."""

    def __init__(
        self,
        *,
        zones: Sequence[Zone] = (),
        masks: Sequence[Zone] = (),
        scale: int = 8,
        cell: int = 32,
        min_fill: float = 0.5,
        floor: float = 8.0,
        sensitivity: float = 4.0,
        learn: float = 0.05,
        learn_changed: float = 0.002,
    ) -> None:
        if scale not in (4, 8):
            raise ValueError("scale must be 4 or 8 (a DCT-scaled decode, never full size)")
        if cell < scale or cell % scale:
            raise ValueError(f"cell must be a multiple of scale ({scale}), not {cell}")
        if not 0 < min_fill <= 1:
            raise ValueError("min_fill must be in (0, 1]")
        self.zones, self.masks = tuple(zones), tuple(masks)
        self.scale, self.min_fill = scale, min_fill
        self.floor, self.sensitivity = float(floor), float(sensitivity)
        self.learn, self.learn_changed = float(learn), float(learn_changed)
        self._cell = cell // scale  # in analysis pixels
        self._size: tuple[int, int] | None = None

    def reset(self) -> None:
        """Forget the background; the next frame starts a new model."""
        self._size = None

    def measure(self, jpeg: bytes, width: int, height: int) -> float:
        """The ``change`` of this frame against the background, then learn from it.

        Raises ``ValueError`` for data that is not a decodable JPEG.
        """
        small = simplejpeg.decode_jpeg(
            jpeg,
            colorspace="GRAY",
            fastdct=True,
            min_height=-(-height // self.scale),
            min_width=-(-width // self.scale),
        )
        rows, cols = small.shape[:2]
        if self._size != (width, height):
            self._start(small[..., 0], width, height)
            return 0.0
        cur = self._cur
        cur[:rows, :cols] = small[..., 0]
        bg = self._bg
        gain = float(np.median(cur.flat[self._sample] / bg.flat[self._sample]))
        diff = np.abs(cur - bg * gain)
        changed = diff > self._limit
        changed &= self._watched
        c = self._cell
        counts = changed.reshape(cur.shape[0] // c, c, cur.shape[1] // c, c).sum(axis=(1, 3))
        area = int(counts[counts >= self._needed].sum())
        # Learn: slowly where something changed, normally elsewhere; noise only where quiet.
        rate = np.where(changed, self.learn_changed, self.learn)
        bg += rate * (cur - bg)
        np.maximum(bg, 1.0, out=bg)  # keeps current/background finite
        noise = self._noise
        step = diff - noise
        step[changed] = 0.0
        noise += self.learn * step
        np.maximum(noise * self.sensitivity, self.floor, out=self._limit)
        return 100.0 * area / self._watched_count

    def _start(self, small: np.ndarray, width: int, height: int) -> None:
        rows, cols = small.shape
        c = self._cell
        padded = (-(-rows // c) * c, -(-cols // c) * c)
        watched = np.zeros(padded, bool)
        watched[:rows, :cols] = watch_mask((rows, cols), (width, height), self.zones, self.masks)
        count = int(watched.sum())
        if count == 0:
            raise ValueError("the zones and masks leave nothing to watch")
        self._watched, self._watched_count = watched, count
        self._cur = np.zeros(padded, np.float32)
        self._cur[:rows, :cols] = small
        self._bg = np.maximum(self._cur, 1.0)
        self._noise = np.full(padded, self.floor / self.sensitivity, np.float32)
        self._limit = np.full(padded, self.floor, np.float32)
        per_cell = watched.reshape(padded[0] // c, c, padded[1] // c, c).sum(axis=(1, 3))
        # A cell with nothing watched must never count: it would need more than it can hold.
        self._needed = np.where(per_cell > 0, np.ceil(per_cell * self.min_fill), c * c + 1)
        flat = np.flatnonzero(watched)
        self._sample = flat[:: max(1, len(flat) // _GAIN_SAMPLES)]
        self._size = (width, height)
