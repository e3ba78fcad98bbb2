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
   ``noise`` is that pixel's learnt deviation while nothing changes it (it rises at once and
   falls slowly), ``floor`` the absolute minimum (default 8 levels) and ``k`` the sensitivity
   (default 4).
4. Light switch: when the changed share of the picture jumps by 20 points from one frame to the
   next (nothing that moves can do that), the background restarts from this frame, except where
   something was moving: there the old background is relit by the light's change around it and
   learns fast for a while, during which only a change three times the limit counts there (the
   guess may be a little off once the mover has gone). For a few frames the noise is relearnt
   where the change is small, while a change three times the limit (someone walking through
   the new light) still counts.
5. Fresh: a pixel that has stayed changed for more than ``_FRESH`` frames (3 s at 10 fps) is a
   change that stays (a light pool brightening as the dusk falls, a parked car), not something
   moving: it stops counting and is learnt into the background at the normal rate.
6. Foliage: every ``_ZONE_EVERY`` frames, the flicker of each pixel from one frame to the next is
   learnt. Leaves that sway flicker over and over; a passer-by only as their edge goes by. Pixels
   that flicker well above the light there and above most of the picture (the sensor's noise and
   the JPEG's quantisation in the dark), and their neighbours within 1/40 of the width, form the
   foliage zone. There a pixel changed only when it is further than ``k * noise`` from every
   value the background takes within ``_SPREAD`` (1/16 of the width) around it: swaying leaves
   bring their neighbourhood's colours (leaf, lawn, the mix), a person brings new ones. So a
   gust is ignored and a person walking in front of the bush is still seen, unless their
   colour is one the bush and its surroundings already show.
7. ``change = 100 * (most fresh changed pixels in any window) / (window area)``.

Besides ``change``, :attr:`ChangeMeter.moved` is the number of fresh changed pixels in the whole
picture for the frame just measured: ``change`` saturates at 100 for someone near the camera,
whether half of them is in view or all of them, and ``moved`` tells those frames apart (the
detector takes an event's best frame by ``(change, moved)``).

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
_RESTLESS = 1.5  # flicker (x floor / k) above which a pixel is foliage, at mid-grey
_DARK = np.float32(48)  # grey level below which that test stops scaling with the light
_NOISY = np.float32(3)  # ...and foliage flickers this many times more than most of the picture
_FRESH = 30  # frames a pixel may stay changed and still count as moving (3 s at 10 fps)
_ATTACK = np.float32(0.3)  # how fast a changed pixel's noise learns while settling
_DECAY = np.float32(0.1)  # a pixel's noise falls this much slower than it rises
_CALM_LEARN = np.float32(0.05)  # the flicker's learning rate per update (every _ZONE_EVERY)...
_CALM_START = np.float32(0.3)  # ...while the model starts, so the zone is known early
_CALM_FALL = np.float32(0.2)  # the flicker falls this much slower than it rises
_SETTLE = 40  # frames of learning only at the start (nothing known yet)...
_SETTLE_SWITCH = 4  # ...and after a light switch (the background is known, its noise is not)
_RELIGHT = 30  # frames during which the guessed background (see _relight) learns fast...
_RELIGHT_LEARN = np.float32(0.2)  # ...at this rate
_STRONG = np.float32(3)  # while settling after a switch, a change this many limits high counts
_REACH = 1 / 40  # how far around foliage a gust reaches, as a part of the picture's width
_SPREAD = 1 / 16  # how far leaves sway in a gust, as a part of the picture's width
_ZONE_EVERY = 8  # frames between two updates of the foliage zone (it changes slowly)


class ChangeMeter:
    """Background model and change measure for one camera; see the module doc for the maths."""

    # Set per frame size by _start.
    _sample: np.ndarray
    _share: float
    _window: tuple[int, int]
    _window_area: int
    _prev_gain: float  # the light of the frame kept for the flicker; 0: none kept
    _box: tuple[slice, slice] | None  # the foliage zone's bounding box
    _zone_at: np.ndarray  # the zone's pixels (flat indices), and per pixel of it:
    _zone_lo: np.ndarray  # the least and...
    _zone_hi: np.ndarray  # ...the most the background takes around it; buffers:
    _zone_above: np.ndarray
    _zone_below: np.ndarray
    _zone_zero: np.ndarray
    _relit_mask: np.ndarray
    _relit_left: int
    _relit: bool
    _strong: np.ndarray

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
        self.moved = 0  # fresh changed pixels in the last frame measured (the module doc)

    def measure(self, jpeg: bytes, width: int, height: int) -> float:
        """The ``change`` of this frame against the background, then learn from it.

        Raises ``ValueError`` for data that is not a decodable JPEG. Every step is a whole-array
        operation into a preallocated buffer (the foliage's only over the zone's bounding box,
        the zone's own upkeep once every ``_ZONE_EVERY`` frames): at 1/8 scale the arithmetic
        costs a fraction of the decode (``benchmarks/motion.py`` measures both).
        """
        small = simplejpeg.decode_jpeg(
            jpeg,
            colorspace="GRAY",
            fastdct=True,
            min_height=-(-height // self.scale),
            min_width=-(-width // self.scale),
        )
        self.moved = 0
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
        if self._box is not None:
            self._foliage_diff(gain)
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
            self._relight(gain)
            self._share -= jump  # what is left changed is what was moving: compare with that
            self._settling = _SETTLE_SWITCH
            self._relit = True
            self._prev_gain = 0.0  # the flicker across a switch is not the foliage's
            return 0.0
        # Something that moves changes a pixel for a moment; a change that stays (a light pool
        # brightening with the dusk, a parked car) is no longer fresh after ``_FRESH`` frames:
        # it stops counting and is learnt at the normal rate.
        age = self._age
        age += changed.view(np.uint8)
        np.minimum(age, self._fresh_cap, out=age)
        age *= changed.view(np.uint8)
        fresh = np.less_equal(age, _FRESH, out=self._fresh)
        fresh &= changed
        # The foliage zone (step 6) is learnt from two frames in every _ZONE_EVERY.
        phase = self._frames % _ZONE_EVERY
        if phase == _ZONE_EVERY - 1:
            np.copyto(self._prev, cur)
            self._prev_gain = float(gain)
        elif phase == 0 and self._prev_gain:
            self._learn_calm(gain)
        self._frames += 1
        restless = self._restless_now
        settling = bool(self._settling)
        if settling:
            self._settling -= 1
            if self._relit:
                # After a light switch the background is known but its noise is not: what
                # changes a little is learnt, what changes far more (someone moving through
                # the new light) still counts.
                strong = np.greater(diff, _STRONG * self._limit, out=self._strong)
                np.greater(changed, strong, out=restless)
                fresh &= strong
            else:  # at the start nothing is known: everything is learnt, nothing counts
                np.copyto(restless, changed)
                fresh[...] = False
        elif self._relit_left:
            # Where the background was guessed at the switch, only a strong change counts
            # until it is learnt: the guess may be a little off once the mover has gone.
            strong = np.greater(diff, _STRONG * self._limit, out=self._strong)
            np.greater(self._relit_mask, strong, out=restless)  # here: the weak guesses
            fresh &= ~restless
            restless[...] = False
        area = _busiest_window(fresh, self._window) if total else 0
        if area:
            self.moved = int(np.count_nonzero(fresh))
        # Learn the background: slowly where something changed, normally elsewhere.
        np.multiply(fresh.view(np.uint8), self._learn_step, out=rate)
        rate += self._learn
        if self._relit_left:
            # Where the background could only be guessed after a switch, learn it fast.
            self._relit_left -= 1
            np.copyto(rate, _RELIGHT_LEARN, where=self._relit_mask)
        np.subtract(cur, bg, out=tmp)
        tmp *= rate
        bg += tmp
        # Noise: at ``learn`` where nothing changed, not at all where something changed (a
        # passer-by cannot teach the model to ignore the next one), except while settling: at
        # ``_ATTACK`` on the changes being learnt.
        np.multiply(changed.view(np.uint8), -self._learn, out=rate)
        rate += self._learn
        if settling:
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
        np.maximum(self._limit, self._floor_plane, out=self._limit)
        return 100.0 * area / self._window_area

    def _learn_calm(self, gain: float) -> None:
        """Learn how much each pixel flickers from one frame to the next, and the foliage zone.

        Leaves that sway change the picture from every frame to the next, over and over; a
        passer-by changes a pixel from one frame to the next only as its edge goes by, once
        each way. So the flicker, sampled between one frame pair every ``_ZONE_EVERY`` and
        capped at ``floor``, builds up over leaves and hardly at all where people pass.
        """
        flick, calm = self._spare, self._calm
        np.multiply(self._prev, np.float32(gain / self._prev_gain), out=flick)
        np.subtract(self._cur, flick, out=flick)
        np.abs(flick, out=flick)
        np.minimum(flick, self._floor_plane, out=flick)
        flick -= calm
        learn = _CALM_START if self._settling and not self._relit else _CALM_LEARN
        # Rises faster than it falls: a bush that sways hard now and then stays known.
        falling = np.multiply(flick, learn * _CALM_FALL, out=self._rate)  # (scratch here)
        flick *= learn
        np.maximum(flick, falling, out=flick)  # learn * x above 0, learn * FALL * x below
        calm += flick
        # Relative to the light there: a bush at night sways with a dimmer contrast.
        lit = np.maximum(self._bg, _DARK) * self._restless
        # And well above the flicker of most of the picture: in the dark, the sensor's noise and
        # the JPEG's quantisation make every pixel flicker a little, leaves or not.
        typical = np.partition(calm.ravel()[self._sample], len(self._sample) // 2)
        np.maximum(lit, _NOISY * typical[len(self._sample) // 2], out=lit)
        zone = self._zone
        np.greater(calm, lit, out=zone)
        _grow(zone, self._reach)
        rows, cols = np.flatnonzero(zone.any(axis=1)), np.flatnonzero(zone.any(axis=0))
        if not len(rows):
            self._box = None
            return
        self._box = slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)
        self._learn_spread()

    def _learn_spread(self) -> None:
        """The range of the background around each pixel of the foliage zone, kept for the
        zone's pixels only (so each frame's test costs what the zone holds)."""
        if self._box is None:
            return
        _spread(self._bg, self._box, self._spread, self._lo, np.minimum)
        _spread(self._bg, self._box, self._spread, self._hi, np.maximum)
        at = np.flatnonzero(self._zone)
        self._zone_at = at
        self._zone_lo, self._zone_hi = self._lo.ravel()[at], self._hi.ravel()[at]
        self._zone_above, self._zone_below = (np.empty(len(at), np.float32) for _ in range(2))
        self._zone_zero = np.zeros(len(at), np.float32)

    def _relight(self, gain: float) -> None:
        """A light switched: the background afresh from this frame, except where something was
        moving a frame ago (it would be learnt as background); there the old background is
        relit by the light's change around it (a floodlight's pool is smooth)."""
        cur, bg = self._cur, self._bg
        moving = self._fresh.copy()
        _grow(moving, 2)  # and its blurred edges, which the 1/8 scale mixes with the lawn
        if self._partial:
            moving |= ~self._watched
        if moving.any():
            still = (~moving).astype(np.float32)
            ratio = np.divide(cur + _ONE, bg + _ONE) * still
            radius = max(1, cur.shape[1] // 8)
            around = _box_sum(ratio, radius) / np.maximum(_box_sum(still, radius), _ONE)
            # Where nothing still is near (a person filling the picture): the global light.
            around[around == 0] = gain
            np.multiply(bg, around, out=bg, where=moving)
            np.copyto(self._relit_mask, moving)
            self._relit_left = _RELIGHT
        # In the new light's scale (the next frames' gain is 1 again): the background learns
        # towards the frames themselves, and a pixel kept at another scale would stand out.
        np.copyto(bg, cur, where=~moving)
        self._learn_spread()

    def _foliage_diff(self, gain: float) -> None:
        """In the foliage zone, the difference to the nearest value the background takes
        within ``_SPREAD`` around the pixel: leaves that sway bring the colours of their
        neighbourhood (leaf, lawn, the mix), a person brings new ones."""
        at, above, below = self._zone_at, self._zone_above, self._zone_below
        cur = self._cur.ravel()[at]
        np.multiply(self._zone_hi, gain, out=above)
        np.subtract(cur, above, out=above)
        np.multiply(self._zone_lo, gain, out=below)
        np.subtract(below, cur, out=below)
        np.maximum(above, below, out=above)
        np.maximum(above, self._zone_zero, out=above)  # (against a scalar: 4x slower)
        self._diff.ravel()[at] = above  # (np.put is three times slower)

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
        # numpy's minimum and maximum are several times faster against an array than a scalar.
        self._floor_plane = self._limit.copy()
        self._fresh_cap = np.full(padded, _FRESH + 1, np.uint8)
        self._restless = np.float32(self._floor * _RESTLESS / self._sensitivity / 128)
        self._calm = np.zeros(padded, np.float32)
        self._prev = np.zeros(padded, np.float32)
        self._prev_gain = 0.0
        self._zone = np.zeros(padded, bool)
        self._frames = 0
        self._reach = max(1, round(cols * _REACH))
        self._spread = max(1, round(cols * _SPREAD))
        self._lo, self._hi = np.zeros(padded, np.float32), np.zeros(padded, np.float32)
        self._box = None
        self._restless_now = np.zeros(padded, bool)
        self._age = np.zeros(padded, np.uint8)
        self._fresh = np.zeros(padded, bool)
        self._share = 0.0
        self._settling = _SETTLE
        self._relit = False
        self._strong = np.zeros(padded, bool)
        self._relit_mask = np.zeros(padded, bool)
        self._relit_left = 0
        self._window = (max(1, round(rows / _WINDOW)), max(1, round(cols / _WINDOW)))
        self._window_area = self._window[0] * self._window[1]
        flat = np.flatnonzero(watched)
        self._sample = flat[:: max(1, len(flat) // _GAIN_SAMPLES)]
        self._size = (width, height)


def _busiest_window(mask: np.ndarray, window: tuple[int, int]) -> int:
    """The most set pixels in any ``window``-sized rectangle of ``mask``.

    On the flattened array a window's sum is a sum of values ``1`` apart (along a row), then of
    row sums ``cols`` apart: each is built from sums over 1, 2, 4... steps, so a dozen
    contiguous additions whatever the window (an integral image's two cumulative sums cost
    twice as much: ``benchmarks/motion.py``). Sums that wrap from one row into the next are
    computed too, and left out of the maximum.
    """
    wr, wc = window
    rows, cols = mask.shape
    # Zeros after the picture, so that every window has its sum (a window holds at most 32,767).
    flat = np.zeros(rows * cols + (wr - 1) * cols + wc - 1, np.int16)
    flat[: rows * cols] = mask.ravel()
    sums = _shifted_sums(_shifted_sums(flat, wc, 1), wr, cols).reshape(rows, cols)
    return int(sums[: rows - wr + 1, : cols - wc + 1].max())  # sums[r, c]: top left at (r, c)


def _shifted_sums(flat: np.ndarray, count: int, step: int) -> np.ndarray:
    """``out[i] = sum(flat[i + k * step] for k in range(count))``, for each ``i`` where all of
    them exist, from sums over 1, 2, 4... steps."""
    total: np.ndarray | None = None
    offset, span, power = 0, step, flat
    while True:
        if count & 1:
            piece = power[offset:]
            if total is None:
                total = piece.copy()
            else:
                total = total[: len(piece)]
                total += piece[: len(total)]
            offset += span
        count >>= 1
        if not count:
            assert total is not None
            return total
        power = power[:-span] + power[span:]
        span *= 2


def _spread(
    src: np.ndarray, box: tuple[slice, slice], radius: int, out: np.ndarray, op: np.ufunc
) -> None:
    """``out[box]`` = ``op`` (minimum or maximum) of ``src`` over the square of ``radius``
    around each pixel (the picture's edges repeated beyond it)."""
    rows, cols = box
    r0, c0 = max(0, rows.start - radius), max(0, cols.start - radius)
    work = _neighbourhood(src[r0 : rows.stop + radius, c0 : cols.stop + radius], radius, op)
    out[box] = work[rows.start - r0 : rows.stop - r0, cols.start - c0 : cols.stop - c0]


def _neighbourhood(src: np.ndarray, radius: int, op: np.ufunc) -> np.ndarray:
    """``op`` (an idempotent one: minimum, maximum, logical_or) of ``src`` over the square of
    ``radius`` around each pixel, its edges repeated beyond it.

    On the flattened, edge-padded array the square is ``2 * radius + 1`` neighbours ``1`` apart
    (a row), then ``width`` apart (a column of those): a few contiguous operations each, five
    times fewer numpy calls' worth of time than shifting 2-D slices (``benchmarks/motion.py``).
    """
    rows, cols = src.shape
    width, size = cols + 2 * radius, 2 * radius + 1
    padded = np.empty((rows + 2 * radius, width), src.dtype)
    padded[radius:-radius, radius:-radius] = src
    padded[radius:-radius, :radius] = src[:, :1]
    padded[radius:-radius, -radius:] = src[:, -1:]
    padded[:radius] = padded[radius]
    padded[-radius:] = padded[-radius - 1]
    flat = _sliding(_sliding(padded.ravel(), size, 1, op), size, width, op)
    # flat[r * width + c] covers the square centred on (r, c); the rest wrapped across rows.
    out = np.empty(rows * width, src.dtype)
    out[: len(flat)] = flat
    return out.reshape(rows, width)[:, :cols]


def _sliding(flat: np.ndarray, count: int, step: int, op: np.ufunc) -> np.ndarray:
    """``op`` over ``count`` values ``step`` apart, for each start where all of them exist:
    spans of 1, 2, 4... steps, then two overlapping spans (``op`` must be idempotent)."""
    span, covered = step, 1
    while covered * 2 <= count:
        flat = op(flat[:-span], flat[span:])
        span, covered = span * 2, covered * 2
    if covered < count:
        shift = (count - covered) * step
        flat = op(flat[:-shift], flat[shift:])
    return flat


def _box_sum(values: np.ndarray, radius: int) -> np.ndarray:
    """The sum of ``values`` over the square of ``radius`` around each pixel (clipped at the
    edges), from an integral image."""
    rows, cols = values.shape
    sums = np.zeros((rows + 1, cols + 1), np.float64)
    np.cumsum(values, axis=0, out=sums[1:, 1:])
    np.cumsum(sums[1:, 1:], axis=1, out=sums[1:, 1:])
    top = np.clip(np.arange(rows) - radius, 0, rows)[:, None]
    bottom = np.clip(np.arange(rows) + radius + 1, 0, rows)[:, None]
    left = np.clip(np.arange(cols) - radius, 0, cols)[None, :]
    right = np.clip(np.arange(cols) + radius + 1, 0, cols)[None, :]
    box = sums[bottom, right] - sums[top, right] - sums[bottom, left] + sums[top, left]
    return box.astype(np.float32)


def _grow(mask: np.ndarray, steps: int) -> None:
    """Dilate a boolean array in place by ``steps`` pixels (a square neighbourhood)."""
    mask[...] = _neighbourhood(mask, steps, np.logical_or)
