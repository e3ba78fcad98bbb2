"""The detector against the synthetic yard's ground truth, with every nuisance switched on."""

import numpy as np
import simplejpeg
from motion_helpers import score

from yardcam.camera import Frame, SyntheticScene
from yardcam.motion import MotionDetector


def test_precision_and_recall_over_2000_frames() -> None:
    # Reduced resolution keeps the test quick; the 1/8 decode still sees an 80x45 grid.
    scene = SyntheticScene(seed=0, width=640, height=360)
    result = score(scene, MotionDetector(), 2000)
    assert result.motion.sum() >= 200  # the run holds real crossings...
    assert (~result.motion).sum() >= 1200  # ...and long quiet stretches with drift, noise, bush
    assert result.precision >= 0.95
    assert result.recall >= 0.95


def test_nuisances_alone_trigger_nothing() -> None:
    scene = SyntheticScene(seed=3, width=480, height=270, objects=False)
    detector = MotionDetector()
    result = score(scene, detector, 2000)
    assert not result.fired.any()
    assert detector.frame_count == 2000 and detector.trigger_count == 0


def test_default_1280x720_scene_fires_for_the_first_crossing_only() -> None:
    scene = SyntheticScene()
    first = scene.crossings(10_000)[0]
    n = first.exits + 20
    result = score(scene, MotionDetector(), n)
    assert result.precision >= 0.95
    assert result.recall >= 0.95
    assert not result.fired[: first.enters].any()


def test_a_sudden_global_light_change_is_not_motion() -> None:
    scene = SyntheticScene(seed=4, width=640, height=360, objects=False, drift=False)
    detector = MotionDetector()
    for i in range(20):
        detector.process(Frame(scene.jpeg(i), i / 10, i, 640, 360))
    darker = (scene.render(20) * 0.6).astype(np.uint8)  # a cloud covers the sun in one frame
    jpeg = simplejpeg.encode_jpeg(darker, quality=85, colorsubsampling="420")
    assert detector.process(Frame(jpeg, 2.0, 20, 640, 360)) is None
    assert detector.last_change < 1.0
    # Without compensation most of the picture changed: the test is not vacuous.
    small = simplejpeg.decode_jpeg(jpeg, colorspace="GRAY", min_height=45, min_width=80)[..., 0]
    reference = simplejpeg.decode_jpeg(
        scene.jpeg(19), colorspace="GRAY", min_height=45, min_width=80
    )[..., 0]
    assert (np.abs(small.astype(int) - reference) > 8).mean() > 0.5
