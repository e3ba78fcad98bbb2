"""A rendered backyard with known ground truth: the product runs, and is tested, without a camera.

Layers are precomputed once: sky gradient, tree line and a mown lawn texture (the static base), a
bush sprite, a periodic cloud-shadow map and a bank of sensor noise. A frame is then a handful of
whole-array integer operations (copy the base, paste the swaying bush and any crossing object,
multiply by the light, add a slice of noise) plus one libjpeg-turbo encode.

Everything is a function of ``(seed, frame index)``: the same seed renders the same bytes, and the
crossing schedule is known in advance, which is what lets tests score the motion detector.

People: ``near`` walkers fill 15-25 % of the frame (someone close to the camera), ``far`` ones
0.5-2 % (someone across the yard, in clothes of any colour, some with little contrast against
the lawn); ``both`` mixes them. Nuisances, each switchable: sensor ``noise``, ``drift`` (passing
clouds), the ``bush`` swaying, and, off by default, ``gusts`` (the bush swaying up to three times
as far, in bursts), ``dusk`` (the light falling to 15 % over a minute, the sensor noise rising as
the camera's gain goes up), ``night`` (dim light, heavy noise and a flickering level), ``switch``
(a floodlight pool on the lawn switched on and off every 8-20 s) and ``requality`` (the camera
changing its JPEG quality between 40 and 95 every 5-15 s).

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
_HORIZON = 0.38  # where the lawn begins, as a part of the frame's height
_DUSK_S = 60.0  # seconds from daylight to 15 % of it
_PEOPLE = ("near", "far", "both")
_QUALITIES = (40, 50, 60, 75, 85, 95)
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
    area: float = 0.0  # the part of the frame the walker covers (0.01: 1 %)

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
        people: str = "near",
        gusts: bool = False,
        dusk: bool = False,
        night: bool = False,
        switch: bool = False,
        requality: bool = False,
    ) -> None:
        if width < 64 or height < 64 or width > 8192 or height > 8192:
            raise ValueError(f"scene size {width}x{height} is outside 64..8192")
        if not fps > 0:
            raise ValueError(f"fps must be positive, not {fps!r}")
        if not 1 <= quality <= 100:
            raise ValueError(f"JPEG quality must be within 1..100, not {quality}")
        if people not in _PEOPLE:
            raise ValueError(f"people must be one of {', '.join(_PEOPLE)}, not {people!r}")
        self.seed, self.width, self.height, self.fps = seed, width, height, fps
        self.noise, self.drift, self.bush, self.objects = noise, drift, bush, objects
        self.quality, self.people = quality, people
        self.gusts, self.dusk, self.night = gusts, dusk, night
        self.switch, self.requality = switch, requality
        rng = np.random.default_rng([seed, 0])
        self._base = _backdrop(rng, width, height)
        self._bush_at, self._bush, self._bush_mask = _bush(rng, width, height)
        self._sway_phase = rng.uniform(0, 2 * math.pi)
        self._light = [(rng.uniform(15, 60), rng.uniform(0, 2 * math.pi)) for _ in range(3)]
        self._clouds = _cloud_map(rng, width, height)
        self._noise_bank = rng.normal(0, 3.0, (height + _NOISE_PAD, width + _NOISE_PAD, 3)).astype(
            np.int16
        )
        self._gust_phases = rng.uniform(0, 2 * math.pi, 3)
        self._pool = _light_pool(rng, width, height)
        events = np.random.default_rng([seed, 6])
        # Toggle times of the floodlight and of the JPEG quality, far enough ahead for any test.
        self._switches = np.cumsum(events.uniform(8, 20, 4096))
        self._requalities = np.cumsum(events.uniform(5, 15, 4096))
        self._qualities = events.choice(_QUALITIES, 4096)
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
        far = self._is_far(k)
        seconds = rng.uniform(4.0, 8.0) if far else rng.uniform(3.0, 6.0)
        frames = max(8, round(seconds * self.fps))
        walker_width, walker_height = self._walker_size(k)
        lawn = round(h * _HORIZON) + walker_height // 4  # far people walk on the lawn
        feet = rng.uniform(lawn, h) if far else h - round(h * rng.uniform(0.0, 0.08))
        crossing = Crossing(
            enters=enters,
            inside=enters,
            leaves=enters,
            exits=enters + frames,
            number=k,
            top=min(h - walker_height, round(feet) - walker_height),
            width=walker_width,
            leftward=rng.random() < 0.5,
            area=float(_walker_mask(walker_width, walker_height).sum()) / (w * h),
        )
        inside = [
            i
            for i in range(enters, enters + frames)
            if 0 <= crossing.left(i, w) <= w - crossing.width
        ]
        return dataclasses.replace(crossing, inside=inside[0], leaves=inside[-1] + 1)

    def _is_far(self, k: int) -> bool:
        if self.people == "both":
            return bool(np.random.default_rng([self.seed, 5, k]).random() < 0.5)
        return self.people == "far"

    def _walker_size(self, k: int) -> tuple[int, int]:
        rng = np.random.default_rng([self.seed, 3, k])
        if not self._is_far(k):
            return round(self.width * rng.uniform(0.32, 0.42)), round(
                self.height * rng.uniform(0.7, 0.88)
            )
        # An upright figure 0.38 times as wide as tall; the mask fills ~0.66 of its box.
        area = math.exp(rng.uniform(math.log(0.005), math.log(0.02))) * self.width * self.height
        height = math.sqrt(area / (0.38 * 0.66))
        return max(2, round(0.38 * height)), min(self.height, max(4, round(height)))

    def _walker_of(self, k: int) -> tuple[int, np.ndarray, np.ndarray]:
        """Crossing ``k``'s walker ``(k, sprite, mask)``; only the latest one is kept."""
        if self._walker is None or self._walker[0] != k:
            rng = np.random.default_rng([self.seed, 4, k])
            self._walker = (k, *_walker(rng, *self._walker_size(k), far=self._is_far(k)))
        return self._walker

    # -- rendering ------------------------------------------------------------------------------

    def jpeg(self, index: int) -> bytes:
        """Frame ``index`` as a JPEG (4:2:0, like most cameras)."""
        return simplejpeg.encode_jpeg(
            self.render(index),
            quality=self.quality_at(index / self.fps),
            colorsubsampling="420",
            fastdct=True,
        )

    def quality_at(self, t: float) -> int:
        """The JPEG quality at ``t`` seconds: ``quality``, or the camera's current pick."""
        if not self.requality:
            return self.quality
        return int(self._qualities[np.searchsorted(self._requalities, t)])

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
        level = self._level(t, index)
        if self.drift or level != 1.0 or self._switched_on(t):
            gain = self._gain_q7(t, level, self._exposure(index))
            for channel in range(3):  # 2.5x faster than broadcasting gain over the colour axis
                np.multiply(work[..., channel], gain, out=work[..., channel])
            np.right_shift(work, 7, out=work)
        if self.noise:
            rng = np.random.default_rng([self.seed, 2, index])
            dy, dx = rng.integers(0, _NOISE_PAD, 2)
            noise = self._noise_bank[dy : dy + self.height, dx : dx + self.width]
            # A camera turns its gain up in the dark: the noise grows as the light falls.
            boost = round(min(4.0, level**-0.5)) if level < 1.0 else 1
            work += noise if boost == 1 else noise * np.int16(boost)
        np.clip(work, 0, 255, out=work)
        return work.astype(np.uint8)

    def _level(self, t: float, index: int) -> float:
        """The overall light: clouds (down to ~60 %), dusk, and night with the camera's gain
        hunting (+-13 % from frame to frame, on everything it sees, floodlight included)."""
        level = 1.0
        if self.drift:
            dim = sum(math.sin(2 * math.pi * t / p + ph) for p, ph in self._light) / 3
            level -= 0.2 * (1.0 + dim)
        if self.dusk:
            level *= max(0.15, 1.0 - 0.85 * t / _DUSK_S)
        if self.night:
            level *= 0.3
        return level

    def _exposure(self, index: int) -> float:
        if not self.night:
            return 1.0
        return 1.0 + np.random.default_rng([self.seed, 7, index]).uniform(-0.13, 0.13)

    def _switched_on(self, t: float) -> bool:
        return self.switch and int(np.searchsorted(self._switches, t)) % 2 == 1

    def _gain_q7(self, t: float, level: float, exposure: float) -> np.ndarray:
        """Light per pixel in 1/128ths: the overall ``level``, the clouds' shadows drifting
        slowly across the yard (a few percent), and the floodlight's pool when it is on."""
        if self.drift:
            shift = round(t * self.width / 40) % self.width
            gain = self._clouds[:, shift : shift + self.width] * np.float32(128 * level)
        else:
            gain = np.full((self.height, self.width), 128 * level, np.float32)
        if self._switched_on(t):
            gain += self._pool
        if exposure != 1.0:
            gain *= np.float32(exposure)
        return gain.astype(np.int16)

    def _paste_bush(self, work: np.ndarray, t: float) -> None:
        x0, y0 = self._bush_at
        rows = self._bush.shape[0]
        sway = math.sin(2 * math.pi * t / 1.7 + self._sway_phase) * (0.7 + 0.3 * math.sin(t / 3.1))
        amplitude = self.width * 0.02 * (self._gust(t) if self.gusts else 1.0)
        for r0 in range(0, rows, 8):  # the top of the bush moves most
            lean = round(amplitude * sway * (1.0 - r0 / rows))
            band = slice(r0, r0 + 8)
            _paste(work, self._bush[band], self._bush_mask[band], x0 + lean, y0 + r0)

    def _gust(self, t: float) -> float:
        """How far the wind pushes the bush, as a multiple of the calm sway (0.6..3): a burst
        every 11 s or so, of uneven strength."""
        p0, p1, _ = self._gust_phases
        burst = max(0.0, math.sin(2 * math.pi * t / 11 + p0))
        return 0.6 + 2.4 * burst * (0.5 + 0.5 * math.sin(2 * math.pi * t / 4.3 + p1))


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
    horizon = int(h * _HORIZON)
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


def _walker_mask(w: int, h: int) -> np.ndarray:
    """A person's outline in a ``w`` x ``h`` box."""
    body, head = _walker_parts(w, h)
    return body | head


def _walker_parts(w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    """A person in a ``w`` x ``h`` box: a body and a head."""
    ys, xs = np.mgrid[0:h, 0:w]
    body = ((xs - w / 2) / (w / 2)) ** 2 + ((ys - h * 0.61) / (h * 0.39)) ** 2 <= 1.0
    head = ((xs - w / 2) / (w * 0.22)) ** 2 + ((ys - h * 0.13) / (h * 0.13)) ** 2 <= 1.0
    return body, head


def _walker(
    rng: np.random.Generator, w: int, h: int, *, far: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """A person in clothes that contrast with the lawn: strongly when near the camera, anything
    from strongly to barely (30 grey levels) when far."""
    body, head = _walker_parts(w, h)
    if far:
        while True:  # any colour whose brightness is at least 30 levels off the lawn's (~109)
            colour = rng.uniform(0, 255, 3)
            if abs(colour @ (0.299, 0.587, 0.114) - 109) >= 30:
                break
    else:
        dark = rng.random() < 0.5
        colour = rng.uniform(15, 60, 3) if dark else rng.uniform(170, 240, 3)
    shade = rng.normal(1.0, 0.08, (h, w))[..., None]
    sprite = (colour * shade).clip(0, 255).astype(np.int16)
    sprite[head] = (200, 160, 130)
    return sprite, np.repeat((body | head)[..., None], 3, axis=2)


def _light_pool(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """A floodlight's pool on the lawn, in 1/128ths of light added (up to +60 %)."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = rng.uniform(0.3, 0.7) * w, rng.uniform(0.55, 0.85) * h
    radius = rng.uniform(0.25, 0.4) * w
    pool = 128 * 0.6 * np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / radius**2)
    pool[: int(h * _HORIZON)] = 0  # it lights the lawn, not the sky or the trees behind
    return pool.astype(np.float32)


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
