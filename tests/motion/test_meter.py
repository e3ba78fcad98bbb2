import pytest
from motion_helpers import render, score

from yardcam.camera import SyntheticScene
from yardcam.motion import ChangeMeter, MotionDetector


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"scale": 1}, "never full size"),
        ({"scale": 2}, "never full size"),
        ({"learn": 0.01, "learn_changed": 0.1}, "learn_changed <= learn"),
    ],
)
def test_bad_settings_are_refused(options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ChangeMeter(**options)


def test_quarter_scale_also_detects_the_crossing() -> None:
    scene = SyntheticScene(seed=2, width=320, height=180)
    first = scene.crossings(10_000)[0]
    result = score(scene, MotionDetector(scale=4), first.exits + 10)
    assert result.precision >= 0.95 and result.recall >= 0.95


def test_a_new_frame_size_restarts_the_model() -> None:
    big = render(SyntheticScene(seed=1, width=640, height=360, objects=False), 5)
    small = render(SyntheticScene(seed=1, width=320, height=180, objects=False), 5)
    meter = ChangeMeter()
    changes = [meter.measure(f.jpeg, f.width, f.height) for f in big + small + big[:2]]
    assert changes[0] == changes[5] == changes[10] == 0.0  # each size starts a new model
    assert max(changes) < 1.0  # and no stale background is ever compared across sizes


def test_garbage_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        ChangeMeter().measure(b"\xff\xd8 not really", 640, 360)
