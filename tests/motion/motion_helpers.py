"""Run a detector over a synthetic scene frame by frame, and score it against the ground truth."""

from dataclasses import dataclass

import numpy as np

from yardcam.camera import Frame, SyntheticScene
from yardcam.motion import MotionDetector


@dataclass
class Score:
    fired: np.ndarray
    motion: np.ndarray
    precision: float
    recall: float


def render(scene: SyntheticScene, n_frames: int) -> list[Frame]:
    """Frames ``0..n_frames-1``, frame ``i`` captured at ``i / fps`` seconds."""
    return [
        Frame(scene.jpeg(i), i / scene.fps, i, scene.width, scene.height) for i in range(n_frames)
    ]


def score(scene: SyntheticScene, detector: MotionDetector, frames: list[Frame] | int) -> Score:
    """Measure every frame (no skipping) and score the frames that fired (started or joined an
    event) against the ground truth."""
    if isinstance(frames, int):
        frames = render(scene, frames)
    fired = np.zeros(len(frames), bool)
    for i, frame in enumerate(frames):
        detector.process(frame)
        fired[i] = detector.firing
    motion, unscored = scene.ground_truth(len(frames))
    scored = fired & ~unscored
    hits = int((scored & motion).sum())
    return Score(
        fired=fired,
        motion=motion,
        precision=hits / max(1, int(scored.sum())),
        recall=hits / max(1, int(motion.sum())),
    )
