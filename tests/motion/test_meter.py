import numpy as np
import pytest
import simplejpeg
from motion_helpers import render, score
from numpy.lib.stride_tricks import sliding_window_view

from yardcam.camera import Frame, SyntheticScene
from yardcam.motion import ChangeMeter, EventPhase, MotionDetector
from yardcam.motion._meter import _busiest_window, _grow, _neighbourhood


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


def test_a_change_that_stays_ends_its_event() -> None:
    """A car parks on the lawn and stays: its arrival is an event, its staying is not."""
    scene = SyntheticScene(seed=3, width=640, height=360, objects=False)
    detector = MotionDetector()
    firing = []
    for i in range(240):
        image = scene.render(i)
        if i >= 60:
            image[250:310, 100:220] = (40, 40, 60)  # 3 % of the frame, dark against the lawn
        jpeg = simplejpeg.encode_jpeg(image, quality=85, colorsubsampling="420")
        detector.process(Frame(jpeg, i / 10, i, 640, 360))
        firing.append(detector.firing)
    assert all(firing[62:80])  # it arrives: motion
    assert not any(firing[140:])  # after _FRESH frames (3 s) it no longer counts
    assert detector.event_count == 1
    assert detector.last_event is not None and detector.last_event.phase is EventPhase.END


@pytest.mark.parametrize(
    ("shape", "window"),
    [((92, 160), (15, 27)), ((136, 240), (23, 40)), ((8, 8), (8, 8)), ((8, 12), (1, 1))],
)
def test_the_busiest_window_is_the_most_set_pixels_in_any_window(
    shape: tuple[int, int], window: tuple[int, int]
) -> None:
    rng = np.random.default_rng(sum(shape))
    for share in (0.0, 0.02, 0.3, 1.0):
        mask = rng.random(shape) < share
        mask[rng.integers(shape[0]), :] = True  # a line along the edge of some windows
        every = sliding_window_view(mask, window).sum(axis=(2, 3))  # each window, counted
        assert _busiest_window(mask, window) == every.max()


@pytest.mark.parametrize("radius", [1, 4, 10])
def test_a_neighbourhood_is_every_pixel_within_the_radius(radius: int) -> None:
    rng = np.random.default_rng(radius)
    values = rng.random((23, 37)).astype(np.float32)
    padded = np.pad(values, radius, mode="edge")
    squares = sliding_window_view(padded, (2 * radius + 1,) * 2)
    assert (_neighbourhood(values, radius, np.minimum) == squares.min(axis=(2, 3))).all()
    assert (_neighbourhood(values, radius, np.maximum) == squares.max(axis=(2, 3))).all()
    mask = rng.random((23, 37)) < 0.02
    grown = np.pad(mask, radius)  # dilation: outside the picture nothing is set
    expected = sliding_window_view(grown, (2 * radius + 1,) * 2).any(axis=(2, 3))
    _grow(mask, radius)
    assert (mask == expected).all()
