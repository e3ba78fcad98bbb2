"""A rendered backyard with known ground truth: the product runs, and is tested, without a camera.

Layers are precomputed once: sky gradient, tree line and a mown lawn texture (the static base), a
bush sprite, a periodic cloud-shadow map and a bank of sensor noise. A frame is then a handful of
whole-array integer operations (copy the base, paste the swaying bush and any crossing object,
multiply by the light, add a slice of noise) plus one libjpeg-turbo encode.

Everything is a function of ``(seed, frame index)``: the same seed renders the same bytes, and the
crossing schedule is known in advance, which is what lets tests score the motion detector.

Ground truth: a crossing object is *in view* from the first frame it is wholly inside the picture
up to (excluding) the first frame it is not; the frames in which it is only partly visible, while
entering or leaving, are neither motion nor quiet and are left out of scoring (``unscored``).
"""

from __future__ import annotations

import bisect
import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import simplejpeg

_FIRST_CROSSING_S = 6.0  # quiet time at the start, so a detector can learn the background
_NOISE_PAD = 32  # the noise bank is this much larger than a frame, to pick a fresh offset per frame


@dataclass(frozen=True, slots=True)
class Crossing:
    """One object crossing the lawn; frame indices, ``[enters, exits)`` partly or wholly visible."""

    enters: int
    inside: int  # first frame wholly in view
    leaves: int  # first frame no longer wholly in view
    exits: int
    number: int  # the k-th crossing of the scene; seeds its walker
    top: int
    width: int  # of the walker, in pixels
    leftward: bool

    def left(self, index: int, frame_width: int) -> int:
        """The walker's left edge in frame ``index`` (in ``[enters, exits)``)."""
        steps = self.exits - self.enters + 1
        x = round(-self.width + (index - self.enters + 1) * (frame_width + self.width) / steps)
        return frame_width - self.width - x if self.leftward else x


class SyntheticScene:
    """A deterministic backyard; each nuisance and the crossing objects can be switched off.

    >>> scene = SyntheticScene(seed=1, width=320, height=180)
    >>> scene.jpeg(0) == SyntheticScene(seed=1, width=320, height=180).jpeg(0)
    True
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        width: int = 1280,
        height: int = 720,
        fps: float = 10.0,
        noise: bool = True,
        drift: bool = True,
        bush: bool = True,
        objects: bool = True,
        quality: int = 85,
    ) -> None:
        if width < 64 or height < 64 or width > 8192 or height > 8192:
            raise ValueError(f"scene size {width}x{height} is outside 64..8192")
        if not fps > 0:
            raise ValueError(f"fps must be positive, not {fps!r}")
        self.seed, self.width, self.height, self.fps = seed, width, height, fps
        self.noise, self.drift, self.bush, self.objects = noise, drift, bush, objects
        self.quality = quality
        rng = np.random.default_rng([seed, 0])
        self._base = _backdrop(rng, width, height)
        self._bush_at, self._bush, self._bush_mask = _bush(rng, width, height)
        self._sway_phase = rng.uniform(0, 2 * math.pi)
        self._light = [(rng.uniform(15, 60), rng.uniform(0, 2 * math.pi)) for _ in range(3)]
        self._clouds = _cloud_map(rng, width, height)
        self._noise_bank = rng.normal(0, 3.0, (height + _NOISE_PAD, width + _NOISE_PAD, 3)).astype(
            np.int16
        )
        # The schedule is kept (small, and what ground truth is made of); walker sprites are
        # big, so only the current one is, or a camera left running for days would fill memory.
        self._crossings: list[Crossing] = []
        self._enters: list[int] = []
        self._walker: tuple[int, np.ndarray, np.ndarray] | None = None

    # -- ground truth ---------------------------------------------------------------------------

    def crossings(self, until: int) -> list[Crossing]:
        """Every crossing that enters before frame ``until`` (none if objects are off)."""
        self._schedule(until)
        return self._crossings[: bisect.bisect_left(self._enters, until)]

    def _schedule(self, until: int) -> None:
        """Extend the crossing schedule past frame ``until``."""
        if not self.objects:
            return
        while not self._crossings or self._crossings[-1].enters < until:
            crossing = self._new_crossing(len(self._crossings))
            self._crossings.append(crossing)
            self._enters.append(crossing.enters)

    def ground_truth(self, n_frames: int) -> tuple[np.ndarray, np.ndarray]:
        """``(motion, unscored)`` boolean arrays over frames ``0..n_frames-1`` (see module doc)."""
        motion = np.zeros(n_frames, bool)
        unscored = np.zeros(n_frames, bool)
        for c in self.crossings(n_frames):
            unscored[c.enters : c.exits] = True
            motion[c.inside : c.leaves] = True
        unscored &= ~motion
        return motion, unscored

    def _new_crossing(self, k: int) -> Crossing:
        rng = np.random.default_rng([self.seed, 1, k])
        w, h = self.width, self.height
        previous = self._crossings[-1].exits if self._crossings else 0
        gap = _FIRST_CROSSING_S if k == 0 else rng.uniform(6, 16)
        enters = previous + max(1, round(gap * self.fps))
        frames = max(8, round(rng.uniform(3.0, 6.0) * self.fps))
        walker_width, walker_height = self._walker_size(k)
        crossing = Crossing(
            enters=enters,
            inside=enters,
            leaves=enters,
            exits=enters + frames,
            number=k,
            top=h - walker_height - round(h * rng.uniform(0.0, 0.08)),
            width=walker_width,
            leftward=rng.random() < 0.5,
        )
        inside = [
            i
            for i in range(enters, enters + frames)
            if 0 <= crossing.left(i, w) <= w - crossing.width
        ]
        return dataclasses.replace(crossing, inside=inside[0], leaves=inside[-1] + 1)

    def _walker_size(self, k: int) -> tuple[int, int]:
        rng = np.random.default_rng([self.seed, 3, k])
        return round(self.width * rng.uniform(0.32, 0.42)), round(
            self.height * rng.uniform(0.7, 0.88)
        )

    def _walker_of(self, k: int) -> tuple[int, np.ndarray, np.ndarray]:
        """Crossing ``k``'s walker ``(k, sprite, mask)``; only the latest one is kept."""
        if self._walker is None or self._walker[0] != k:
            rng = np.random.default_rng([self.seed, 4, k])
            self._walker = (k, *_walker(rng, *self._walker_size(k)))
        return self._walker

    # -- rendering ------------------------------------------------------------------------------

    def jpeg(self, index: int) -> bytes:
        """Frame ``index`` as a JPEG (4:2:0, like most cameras)."""
        return simplejpeg.encode_jpeg(
            self.render(index), quality=self.quality, colorsubsampling="420", fastdct=True
        )

    def render(self, index: int) -> np.ndarray:
        """Frame ``index`` as an RGB ``uint8`` array of shape ``(height, width, 3)``."""
        t = index / self.fps
        work = self._base.copy()  # a fresh buffer: two threads may render the same scene
        if self.bush:
            self._paste_bush(work, t)
        self._schedule(index + 1)
        current = bisect.bisect_right(self._enters, index) - 1
        c = self._crossings[current] if current >= 0 else None
        if c is not None and index < c.exits:  # crossings never overlap
            _, sprite, mask = self._walker_of(c.number)
            _paste(work, sprite, mask, c.left(index, self.width), c.top)
        if self.drift:
            gain = self._gain_q7(t)
            for channel in range(3):  # 2.5x faster than broadcasting gain over the colour axis
                np.multiply(work[..., channel], gain, out=work[..., channel])
            np.right_shift(work, 7, out=work)
        if self.noise:
            rng = np.random.default_rng([self.seed, 2, index])
            dy, dx = rng.integers(0, _NOISE_PAD, 2)
            work += self._noise_bank[dy : dy + self.height, dx : dx + self.width]
        np.clip(work, 0, 255, out=work)
        return work.astype(np.uint8)

    def _gain_q7(self, t: float) -> np.ndarray:
        """Light level per pixel in 1/128ths: passing clouds dim the whole yard (down to ~60 %) and
        their shadows drift slowly across it (a few percent)."""
        dim = sum(math.sin(2 * math.pi * t / p + ph) for p, ph in self._light) / len(self._light)
        level = 1.0 - 0.2 * (1.0 + dim)
        shift = round(t * self.width / 40) % self.width
        shadow = self._clouds[:, shift : shift + self.width]
        return (shadow * (128 * level)).astype(np.int16)

    def _paste_bush(self, work: np.ndarray, t: float) -> None:
        x0, y0 = self._bush_at
        rows = self._bush.shape[0]
        sway = math.sin(2 * math.pi * t / 1.7 + self._sway_phase) * (0.7 + 0.3 * math.sin(t / 3.1))
        amplitude = self.width * 0.02
        for r0 in range(0, rows, 8):  # the top of the bush moves most
            lean = round(amplitude * sway * (1.0 - r0 / rows))
            band = slice(r0, r0 + 8)
            _paste(work, self._bush[band], self._bush_mask[band], x0 + lean, y0 + r0)


def _paste(work: np.ndarray, sprite: np.ndarray, mask: np.ndarray, x: int, y: int) -> None:
    """Copy the opaque part of ``sprite`` to ``work`` at ``(x, y)``, clipped to the frame.

    ``mask`` has the sprite's full shape, colour axis included: ``where=`` with a broadcast mask
    is nearly ten times slower."""
    h, w = work.shape[:2]
    sx0, sy0 = max(0, -x), max(0, -y)
    sx1 = min(sprite.shape[1], w - x)
    sy1 = min(sprite.shape[0], h - y)
    if sx1 <= sx0 or sy1 <= sy0:
        return
    target = work[y + sy0 : y + sy1, x + sx0 : x + sx1]
    np.copyto(target, sprite[sy0:sy1, sx0:sx1], where=mask[sy0:sy1, sx0:sx1])


def _backdrop(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """Sky gradient, a tree line with a ragged top, and a textured, mown lawn (int16 RGB)."""
    horizon = int(h * 0.38)
    base = np.empty((h, w, 3), np.int16)
    fade = np.linspace(0.0, 1.0, horizon)[:, None]
    sky = np.array([95, 150, 225]) * (1 - fade) + np.array([200, 220, 240]) * fade
    base[:horizon] = sky[:, None, :].astype(np.int16)
    xs = np.arange(w) / w
    ragged = np.sum(
        [
            rng.uniform(0.01, 0.03) * np.sin(2 * math.pi * (f * xs + rng.random()))
            for f in (3, 7, 19)
        ],
        axis=0,
    )
    tree_top = ((0.30 + ragged) * h).astype(int)
    ys = np.arange(h)[:, None]
    lawn = np.empty((h, w, 3), np.float32)
    stripes = 1.0 + 0.08 * np.sign(np.sin(2 * math.pi * 6 * xs + ys / h * 2))
    texture = rng.normal(1.0, 0.10, (h, w)).astype(np.float32)
    for channel, value in enumerate((70, 140, 55)):
        lawn[..., channel] = value * stripes * texture
    base[horizon:] = lawn[horizon:].astype(np.int16)
    trees = (ys >= tree_top) & (ys < horizon)
    base[trees] = np.array([30, 70, 35], np.int16) + rng.integers(-8, 8, (int(trees.sum()), 3))
    return base


def _bush(
    rng: np.random.Generator, w: int, h: int
) -> tuple[tuple[int, int], np.ndarray, np.ndarray]:
    """A clump of leafy blobs and where it stands; sways in bands when pasted."""
    bw, bh = round(w * 0.2), round(h * 0.34)
    ys, xs = np.mgrid[0:bh, 0:bw]
    mask = np.zeros((bh, bw), bool)
    for _ in range(14):
        cx, cy = rng.uniform(0.2, 0.8) * bw, rng.uniform(0.25, 0.85) * bh
        rx, ry = rng.uniform(0.12, 0.3) * bw, rng.uniform(0.12, 0.3) * bh
        mask |= ((xs - cx) / rx) ** 2 + ((ys - cy) / ry) ** 2 <= 1.0
    shade = rng.normal(1.0, 0.25, (bh, bw))[..., None]
    sprite = (np.array([35, 95, 30]) * shade).clip(0, 255).astype(np.int16)
    return (round(w * 0.64), round(h * 0.40)), sprite, np.repeat(mask[..., None], 3, axis=2)


def _walker(rng: np.random.Generator, w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    """Someone close to the camera: a body and a head, in clothes that contrast with the lawn."""
    ys, xs = np.mgrid[0:h, 0:w]
    body = ((xs - w / 2) / (w / 2)) ** 2 + ((ys - h * 0.61) / (h * 0.39)) ** 2 <= 1.0
    head = ((xs - w / 2) / (w * 0.22)) ** 2 + ((ys - h * 0.13) / (h * 0.13)) ** 2 <= 1.0
    dark = rng.random() < 0.5
    colour = rng.uniform(15, 60, 3) if dark else rng.uniform(170, 240, 3)
    shade = rng.normal(1.0, 0.08, (h, w))[..., None]
    sprite = (colour * shade).clip(0, 255).astype(np.int16)
    sprite[head] = (200, 160, 130)
    return sprite, np.repeat((body | head)[..., None], 3, axis=2)


def _cloud_map(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """A smooth shadow map, periodic across the width so it can slide forever without a seam;
    stored twice as wide as the frame so every slice is a view (values 0.94..1.0)."""
    xs = np.arange(2 * w)[None, :] / w
    ys = np.arange(h)[:, None] / h
    field = np.sum(
        [
            np.sin(2 * math.pi * (k * xs + rng.uniform(0.5, 2.0) * ys + rng.random()))
            for k in (1, 2, 3)
        ],
        axis=0,
    )
    return (1.0 - 0.03 * (1.0 + field / 3)).astype(np.float32)
