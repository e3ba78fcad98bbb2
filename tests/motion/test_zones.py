import numpy as np
import pytest
from motion_helpers import render, score

from yardcam.camera import SyntheticScene
from yardcam.motion import MotionDetector, Polygon, Rect, parse_zone, watch_mask


def test_rect_and_polygon_rasterise_on_the_analysis_grid() -> None:
    # A 100x100 frame on a 10x10 grid: each cell centre is at 5, 15, ..., 95.
    rect = watch_mask((10, 10), (100, 100), [Rect(0, 0, 50, 30)], [])
    assert rect.sum() == 15 and rect[:3, :5].all()
    triangle = Polygon(((0, 0), (100, 0), (0, 100)))
    tri = watch_mask((10, 10), (100, 100), [triangle], [])
    assert tri.sum() == 45  # the cells strictly above the anti-diagonal
    assert tri[0, 0] and not tri[9, 9]
    both = watch_mask((10, 10), (100, 100), [triangle], [Rect(0, 0, 100, 10)])
    assert both.sum() == 45 - 9 and not both[0].any()
    assert watch_mask((4, 4), (40, 40), [], []).all()


@pytest.mark.parametrize(
    ("spec", "zone"),
    [
        ("rect:10,20,30,40", Rect(10, 20, 30, 40)),
        ("poly:0,0,10,0,5,8", Polygon(((0, 0), (10, 0), (5, 8)))),
    ],
)
def test_parse_zone(spec: str, zone: Rect | Polygon) -> None:
    assert parse_zone(spec) == zone


@pytest.mark.parametrize(
    "spec", ["rect:1,2,3", "poly:1,2,3,4", "circle:1,2,3", "rect:a,b,c,d", "rect:0,0,0,5"]
)
def test_bad_zones_say_why(spec: str) -> None:
    with pytest.raises(ValueError, match=r"bad zone|positive size|at least 3"):
        parse_zone(spec)


def test_masking_the_lawn_hides_the_walkers_and_zones_must_watch_something() -> None:
    scene = SyntheticScene(seed=0, width=640, height=360)
    frames = render(scene, scene.crossings(10_000)[1].exits)
    watched = score(scene, MotionDetector(), frames)
    assert watched.fired.sum() >= 20
    # The walkers' heads reach up to y=14: all but the top of the sky is theirs.
    lawn = Rect(0, 10, 640, 350)
    masked = score(scene, MotionDetector(masks=[lawn]), frames)
    assert not masked.fired.any()
    sky_only = score(scene, MotionDetector(zones=[Rect(0, 0, 640, 10)]), frames)
    assert not sky_only.fired.any()
    nothing = MotionDetector(zones=[lawn], masks=[lawn])
    with pytest.raises(ValueError, match="nothing to watch"):
        score(scene, nothing, frames[:1])
    assert np.array_equal(watched.motion, masked.motion)
