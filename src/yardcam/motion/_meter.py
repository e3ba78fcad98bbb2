"""The change measure: one small grayscale decode, one background model, one number per frame.

Definition of ``change`` (0..100), per frame: **the share, in percent, of the busiest window
1/6 of the picture wide and 1/6 high that holds something new and moving**. Measured over
crossings of the synthetic yard (median per crossing): ~50 for a person covering 2 % of the
frame, ~30-35 at 1 %, ~20-25 at 0.5 %; someone close to the camera fills it (100). How:

1. Decode the JPEG as grayscale at 1/``scale`` size with libjpeg-turbo's DCT scaling (default
   1/8: each analysis pixel is the mean of an 8x8 block, which also averages sensor noise away).
   The full-size image is never decoded.
2. Global light: ``gain`` = the median, over watched pixels (a fixed sample), of
   ``current / background``. A cloud, the dusk or the camera's gain hunting scales every pixel
   alike and moves ``gain``, not the difference, so it is suppressed.
3. A watched pixel *changed* when ``|current - gain * background| > max(floor, k * noise)``, where
   ``noise`` is that pixel's learnt deviation (it rises at once and falls slowly, so a bush that
   sways now and then stays known as restless), ``floor`` the absolute minimum (default 8 levels)
   and ``k`` the sensitivity (default 4).
4. Light switch: when the changed share of the picture jumps by 20 points from one frame to the
   next (nothing that moves can do that), the background restarts from this frame (except where
   something was moving), and nothing counts for a few frames while the noise is relearnt.
5. Fresh: a pixel that has stayed changed for more than ``_FRESH`` frames (3 s at 10 fps) is a
   change that stays (a light pool brightening as the dusk falls, a parked car), not something
   moving: it stops counting and is learnt into the background at the normal rate.
6. Foliage: pixels whose *calm* noise (learnt slowly, only where nothing changed) is high for
   the light there, and their neighbours within 1/40 of the picture's width, form the foliage
   zone; there, a changed pixel still learns its noise fast, so a gust is absorbed within a few
   frames. Elsewhere nothing learns from what changes it, so a passer-by cannot teach the model
   to ignore the next one. The price: someone walking right in front of a bush in a gust is
   seen less well.
7. ``change = 100 * (most fresh changed pixels in any window) / (window area)``.

The background follows the scene at ``learn`` per frame where nothing changed and at the much
slower ``learn_changed`` where something did. The first 40 frames (and a change of frame size,
which restarts the model) only learn, and measure 0.

Choosing a threshold (the README says more): the default 12 sits below a 1 % person's dips and
above the nuisances; raise it to ignore smaller things, lower it for cats, at the price of more
foliage and noise getting through. The detector also needs ``min_frames`` (default 2)
consecutive frames above it to start an event.

Not thread-safe: one caller at a time (the detector awaits each measurement before the next).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import simplejpeg

from ._zones import Zone, watch_mask

_ONE = np.float32(1.0)
_GAIN_SAMPLES = 512  # pixels sampled for the median light ratio
_CELL = 4  # the analysis arrays are padded to a multiple of this on both axes
_WINDOW = 6  # the window is 1/6 of the picture's width by 1/6 of its height
_SWITCH_JUMP = 0.2  # a rise in the changed share this big from one frame to the next: light
_RESTLESS = 1.5  # noise limit (x floor) above which a pixel is restless (foliage), at mid-grey
_DARK = np.float32(48)  # grey level below which the restless test stops scaling with the light
_FRESH = 30  # frames a pixel may stay changed and still count as moving (3 s at 10 fps)
_ATTACK = np.float32(0.3)  # how fast a restless pixel's noise learns while it changes
_DECAY = np.float32(0.1)  # a pixel's noise falls this much slower than it rises
_CALM_LEARN = np.float32(0.01)  # the calm noise's learning rate (the foliage zone's evidence)
_SETTLE = 40  # frames of learning only at the start (nothing known yet)...
_SETTLE_SWITCH = 4  # ...and after a light switch (the background is known, its noise is not)
_REACH = 1 / 40  # how far around foliage a gust reaches, as a part of the picture's width
_ZONE_EVERY = 8  # frames between two updates of the foliage zone (it changes slowly)


class ChangeMeter:
    """Background model and change measure for one camera; see the module doc for the maths."""

    # Set per frame size by _start.
    _sample: np.ndarray
    _share: float
    _window: tuple[int, int]
    _window_area: int
    _sums: np.ndarray

    def __init__(
        self,
        *,
        zones: Sequence[Zone] = (),
        masks: Sequence[Zone] = (),
        scale: int = 8,
        floor: float = 8.0,
        sensitivity: float = 4.0,
        learn: float = 0.05,
        learn_changed: float = 0.002,
    ) -> None:
        if scale not in (4, 8):
            raise ValueError("scale must be 4 or 8 (a DCT-scaled decode, never full size)")
        if not 0 <= learn_changed <= learn <= 1:
            raise ValueError("need 0 <= learn_changed <= learn <= 1")
        self.zones, self.masks = tuple(zones), tuple(masks)
        self.scale = scale
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
        gain = ratios[middle]
        np.multiply(bg, gain, out=diff)
        np.subtract(cur, diff, out=diff)
        np.abs(diff, out=diff)
        changed = np.greater(diff, self._limit, out=self._changed)
        if self._partial:  # outside the picture the arrays are 0 and never change
            changed &= self._watched
        total = int(np.count_nonzero(changed))
        share = total / self._watched_count
        jump, self._share = share - self._share, share
        if jump > _SWITCH_JUMP:
            # A light switched: much of the picture changed from one frame to the next, which
            # nothing that moves can do. Start the background afresh from this frame, except
            # where something was moving a frame ago (it would be learnt as background).
            np.divide(cur, gain, out=bg, where=~self._fresh)
            self._share = 0.0
            self._settling = _SETTLE_SWITCH
            return 0.0
        # Something that moves changes a pixel for a moment; a change that stays (a light pool
        # brightening with the dusk, a parked car) is no longer fresh after ``_FRESH`` frames:
        # it stops counting and is learnt at the normal rate.
        age = self._age
        age += changed.view(np.uint8)
        np.minimum(age, _FRESH + 1, out=age)
        age *= changed.view(np.uint8)
        fresh = np.less_equal(age, _FRESH, out=self._fresh)
        fresh &= changed
        # Foliage: pixels whose calm noise (learnt only where nothing changed) is well above
        # the floor, and the pixels around them, learn their noise fast even while changed, so
        # a gust teaches them within a few frames. Other pixels (the lawn) never learn from what
        # changes them, so a passer-by cannot teach them to ignore the next one. The zone comes
        # from the calm noise alone, so a passer-by near a bush cannot widen it.
        if self._frames % _ZONE_EVERY == 0:
            # Relative to the light there: a bush at night sways with a dimmer contrast.
            lit = np.maximum(bg, _DARK) * self._restless
            np.greater(self._calm, lit, out=self._zone)
            _grow(self._zone, self._reach)
        self._frames += 1
        restless = np.logical_and(self._zone, changed, out=self._restless_now)
        if self._settling:  # everything is learnt, nothing counts
            self._settling -= 1
            np.copyto(restless, changed)
            fresh[...] = False
        area = _busiest_window(fresh, self._window, self._sums) if total else 0
        # Learn the background: slowly where something changed, normally elsewhere.
        np.multiply(fresh.view(np.uint8), self._learn_step, out=rate)
        rate += self._learn
        np.subtract(cur, bg, out=tmp)
        tmp *= rate
        bg += tmp
        # Noise: at ``learn`` where nothing changed, at ``_ATTACK`` on restless pixels that
        # changed, not at all on other changed pixels.
        np.multiply(changed.view(np.uint8), -self._learn, out=rate)
        rate += self._learn
        np.multiply(restless.view(np.uint8), _ATTACK, out=tmp)
        rate += tmp
        noise = self._noise
        np.subtract(diff, noise, out=tmp)
        tmp *= rate
        # Noise rises at once but falls slowly: a bush that sways hard now and then stays
        # known as restless between the gusts. (For a step below 0, DECAY * step is the larger.)
        np.multiply(tmp, _DECAY, out=self._spare)
        np.maximum(tmp, self._spare, out=tmp)
        noise += tmp
        np.multiply(noise, self._sensitivity, out=self._limit)
        np.maximum(self._limit, self._floor, out=self._limit)
        # The calm noise learns slower: only what keeps moving (leaves) builds it up, not the
        # edge of a passer-by that brushes a pixel for a frame or two.
        calm = self._calm
        np.subtract(diff, calm, out=tmp)
        np.multiply(changed.view(np.uint8), -_CALM_LEARN, out=rate)
        rate += _CALM_LEARN
        tmp *= rate
        np.multiply(tmp, _DECAY, out=self._spare)
        np.maximum(tmp, self._spare, out=tmp)
        calm += tmp
        return 100.0 * area / self._window_area

    def _start(self, small: np.ndarray, width: int, height: int) -> None:
        rows, cols = small.shape
        padded = (-(-rows // _CELL) * _CELL, -(-cols // _CELL) * _CELL)
        watched = np.zeros(padded, bool)
        watched[:rows, :cols] = watch_mask((rows, cols), (width, height), self.zones, self.masks)
        count = int(watched.sum())
        if count == 0:
            raise ValueError("the zones and masks leave nothing to watch")
        self._watched, self._watched_count = watched, count
        self._partial = bool(self.zones or self.masks)
        self._cur = np.zeros(padded, np.float32)
        self._cur[:rows, :cols] = small
        self._bg = self._cur.copy()
        self._diff, self._tmp, self._rate, self._spare = (
            np.zeros(padded, np.float32) for _ in range(4)
        )
        self._changed = np.zeros(padded, bool)
        self._noise = np.full(padded, self._floor / self._sensitivity, np.float32)
        self._limit = np.full(padded, self._floor, np.float32)
        self._restless = np.float32(self._floor * _RESTLESS / self._sensitivity / 128)
        self._calm = np.zeros(padded, np.float32)
        self._zone = np.zeros(padded, bool)
        self._frames = 0
        self._reach = max(1, round(cols * _REACH))
        self._restless_now = np.zeros(padded, bool)
        self._age = np.zeros(padded, np.uint8)
        self._fresh = np.zeros(padded, bool)
        self._share = 0.0
        self._settling = _SETTLE
        self._window = (max(1, round(rows / _WINDOW)), max(1, round(cols / _WINDOW)))
        self._window_area = self._window[0] * self._window[1]
        self._sums = np.zeros((padded[0] + 1, padded[1] + 1), np.int32)
        flat = np.flatnonzero(watched)
        self._sample = flat[:: max(1, len(flat) // _GAIN_SAMPLES)]
        self._size = (width, height)


def _busiest_window(mask: np.ndarray, window: tuple[int, int], sums: np.ndarray) -> int:
    """The most set pixels in any ``window``-sized rectangle of ``mask`` (an integral image)."""
    wr, wc = window
    np.cumsum(mask, axis=0, dtype=np.int32, out=sums[1:, 1:])
    np.cumsum(sums[1:, 1:], axis=1, out=sums[1:, 1:])
    box = sums[wr:, wc:] - sums[:-wr, wc:] - sums[wr:, :-wc] + sums[:-wr, :-wc]
    return int(box.max())


def _grow(mask: np.ndarray, steps: int) -> None:
    """Dilate a boolean array in place by ``steps`` pixels (a square neighbourhood)."""
    for _ in range(steps):
        mask[1:] |= mask[:-1].copy()
        mask[:-1] |= mask[1:].copy()
        mask[:, 1:] |= mask[:, :-1].copy()
        mask[:, :-1] |= mask[:, 1:].copy()
