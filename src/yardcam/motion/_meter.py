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
4. Minimum area: the grid is cut into cells of 4x4 analysis pixels (32x32 frame pixels at 1/8);
   a cell counts only when at least ``min_fill`` (default half) of its watched pixels changed, so
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

_ONE = np.float32(1.0)
_GAIN_SAMPLES = 512  # pixels sampled for the median light ratio
_CELL = 4  # cell side in analysis pixels: 32 frame pixels at 1/8 scale, 16 at 1/4


class ChangeMeter:
    """Background model and change measure for one camera; see the module doc for the maths."""

    def __init__(
        self,
        *,
        zones: Sequence[Zone] = (),
        masks: Sequence[Zone] = (),
        scale: int = 8,
        min_fill: float = 0.5,
        floor: float = 8.0,
        sensitivity: float = 4.0,
        learn: float = 0.05,
        learn_changed: float = 0.002,
    ) -> None:
        if scale not in (4, 8):
            raise ValueError("scale must be 4 or 8 (a DCT-scaled decode, never full size)")
        if not 0 < min_fill <= 1:
            raise ValueError("min_fill must be in (0, 1]")
        if not 0 <= learn_changed <= learn <= 1:
            raise ValueError("need 0 <= learn_changed <= learn <= 1")
        self.zones, self.masks = tuple(zones), tuple(masks)
        self.scale, self.min_fill = scale, min_fill
        # float32 scalars keep numpy on its fast same-type loops.
        self._learn, self._learn_changed = np.float32(learn), np.float32(learn_changed)
        self._learn_step = np.float32(learn_changed - learn)
        self._floor, self._sensitivity = np.float32(floor), np.float32(sensitivity)
        self._size: tuple[int, int] | None = None

    def measure(self, jpeg: bytes, width: int, height: int) -> float:
        """The ``change`` of this frame against the background, then learn from it.

        Raises ``ValueError`` for data that is not a decodable JPEG. Every step is a whole-array
        operation into a preallocated buffer: at 1/8 scale the arithmetic is a few percent of
        the decode (``benchmarks/motion.py``).
        """
        small = simplejpeg.decode_jpeg(
            jpeg,
            colorspace="GRAY",
            fastdct=True,
            min_height=-(-height // self.scale),
            min_width=-(-width // self.scale),
        )
        if self._size != (width, height):
            self._start(small[..., 0], width, height)
            return 0.0
        cur, bg, diff, tmp, rate = self._cur, self._bg, self._diff, self._tmp, self._rate
        rows, cols = small.shape[:2]
        cur[:rows, :cols] = small[..., 0]
        one = _ONE
        ratios = (cur.ravel()[self._sample] + one) / (bg.ravel()[self._sample] + one)
        middle = len(ratios) // 2
        ratios.partition(middle)
        np.multiply(bg, ratios[middle], out=diff)
        np.subtract(cur, diff, out=diff)
        np.abs(diff, out=diff)
        changed = np.greater(diff, self._limit, out=self._changed)
        changed &= self._watched
        counts = _cell_counts(changed)
        area = int(counts[counts >= self._needed].sum())
        # Learn the background: slowly where something changed, normally elsewhere.
        np.multiply(changed.view(np.uint8), self._learn_step, out=rate)
        rate += self._learn
        np.subtract(cur, bg, out=tmp)
        tmp *= rate
        bg += tmp
        # Learn each pixel's noise only where nothing changed (there ``rate - learn_changed``
        # is zero), so a passer-by does not teach the model to ignore the next one.
        rate -= self._learn_changed
        noise = self._noise
        np.subtract(diff, noise, out=tmp)
        tmp *= rate
        noise += tmp
        np.multiply(noise, self._sensitivity, out=self._limit)
        np.maximum(self._limit, self._floor, out=self._limit)
        return 100.0 * area / self._watched_count

    def _start(self, small: np.ndarray, width: int, height: int) -> None:
        rows, cols = small.shape
        padded = (-(-rows // _CELL) * _CELL, -(-cols // _CELL) * _CELL)
        watched = np.zeros(padded, bool)
        watched[:rows, :cols] = watch_mask((rows, cols), (width, height), self.zones, self.masks)
        count = int(watched.sum())
        if count == 0:
            raise ValueError("the zones and masks leave nothing to watch")
        self._watched, self._watched_count = watched, count
        self._cur = np.zeros(padded, np.float32)
        self._cur[:rows, :cols] = small
        self._bg = self._cur.copy()
        self._diff, self._tmp, self._rate = (np.zeros(padded, np.float32) for _ in range(3))
        self._changed = np.zeros(padded, bool)
        self._noise = np.full(padded, self._floor / self._sensitivity, np.float32)
        self._limit = np.full(padded, self._floor, np.float32)
        per_cell = _cell_counts(watched)
        # A cell with nothing watched must never count: it would need more than it can hold.
        needed = np.where(per_cell > 0, np.ceil(per_cell * self.min_fill), _CELL**2 + 1)
        self._needed = needed.astype(np.uint32)
        flat = np.flatnonzero(watched)
        self._sample = flat[:: max(1, len(flat) // _GAIN_SAMPLES)]
        self._size = (width, height)


def _cell_counts(mask: np.ndarray) -> np.ndarray:
    """How many pixels are set in each 4x4 cell of a boolean array (shape a multiple of 4).

    Booleans are bytes, so four neighbours in a row are one ``uint32``: adding the words of the
    four rows of a cell adds byte-wise (at most 4 per byte, no carry), and multiplying by
    0x01010101 gathers the four byte sums into the top byte. Ten times cheaper than a numpy
    reduction over two axes, which matters at 30 frames a second.
    """
    rows = mask.view(np.uint32).reshape(mask.shape[0] // _CELL, _CELL, -1)
    words = rows[:, 0] + rows[:, 1] + rows[:, 2] + rows[:, 3]
    return (words * np.uint32(0x01010101)) >> np.uint32(24)
