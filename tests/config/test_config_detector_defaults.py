"""A camera configured with nothing runs the detector at the detector's own defaults: the ones
the motion tests measure and the README documents (it ran min_frames 1 against the detector's 2)."""

from __future__ import annotations

from yardcam.config import CameraConfig
from yardcam.motion import ArchivePolicy, MotionDetector


def test_a_camera_defaults_to_the_detectors_settings() -> None:
    camera, detector, policy = CameraConfig(), MotionDetector(), ArchivePolicy()
    assert camera.threshold == detector.threshold
    assert camera.min_frames == detector.min_frames
    assert camera.gap == detector.grouper.gap and camera.cooldown == detector.grouper.cooldown
    assert camera.archive_per_second == policy.per_second
    assert camera.archive_every_frame == policy.every_frame
