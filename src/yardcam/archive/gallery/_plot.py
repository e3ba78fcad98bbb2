"""The triggers-per-hour bar chart, laid out in Python and drawn as inline SVG by a template.

Server-side SVG needs no script (the CSP forbids inline ones anyway), prints, and scales. Hours
are the day's local hours, so a daylight-saving day has 23 or 25 bars. The SVG scales with the
page, its labels with it: on a phone ``gallery.css`` makes them larger (in the SVG's units) and
hides the ``minor`` hour labels, so the rest neither overlap nor shrink to specks; the margins
leave room for those larger labels.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo

WIDTH, HEIGHT = 960, 180
_LEFT, _RIGHT, _TOP, _BOTTOM = 48, 6, 8, 32


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    hour: int  # local hour of day, the link target
    label: str  # "13:00-14:00: 12 frames" (the tooltip)
    count: int


@dataclass(frozen=True, slots=True)
class Tick:
    x: float
    y: float
    text: str
    minor: bool = False  # left out where space is short (phones)


@dataclass(frozen=True, slots=True)
class HourlyPlot:
    width: int
    height: int
    bars: list[Bar]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    baseline: float
    plot_left: float
    plot_right: float
    total: int


def hourly_plot(
    counts: Iterable[tuple[float, int]], start: float, end: float, tz: tzinfo
) -> HourlyPlot:
    """Lay out one bar per hour in ``[start, end)`` from ``(hour start, count)`` pairs."""
    by_hour = {int(ts): n for ts, n in counts}
    hours = list(range(int(start), int(end), 3600))
    plot_w = WIDTH - _LEFT - _RIGHT
    plot_h = HEIGHT - _TOP - _BOTTOM
    top = _nice_ceiling(max(by_hour.values(), default=0))
    slot = plot_w / max(len(hours), 1)
    baseline = _TOP + plot_h
    bars, x_ticks = [], []
    for i, hour_ts in enumerate(hours):
        count = by_hour.get(hour_ts, 0)
        local = datetime.fromtimestamp(hour_ts, tz)
        height = plot_h * count / top
        x = _LEFT + i * slot
        noun = "frame" if count == 1 else "frames"
        label = f"{local:%H}:00-{(local.hour + 1) % 24:02d}:00: {count} {noun}"
        bars.append(
            Bar(x + 1, baseline - height, max(slot - 2, 1), height, local.hour, label, count)
        )
        if local.hour % 3 == 0:
            x_ticks.append(Tick(x + slot / 2, HEIGHT - 6, f"{local:%H}", local.hour % 6 != 0))
    y_ticks = [Tick(_LEFT - 4, baseline, "0"), Tick(_LEFT - 4, _TOP + 4, str(top))]
    return HourlyPlot(
        WIDTH,
        HEIGHT,
        bars,
        x_ticks,
        y_ticks,
        baseline,
        _LEFT,
        WIDTH - _RIGHT,
        sum(by_hour.values()),
    )


def _nice_ceiling(value: int) -> int:
    """The smallest round number (1, 2, 3, 4, 5, 6 or 8 x 10^k) that is >= value."""
    magnitude = 1
    while True:
        for step in (1, 2, 3, 4, 5, 6, 8):
            if step * magnitude >= value:
                return step * magnitude
        magnitude *= 10
