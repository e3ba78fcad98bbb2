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


def score(scene: SyntheticScene, detector: MotionDetector, n_frames: int) -> Score:
    """Every frame measured (no skipping), frame ``i`` captured at ``i / fps`` seconds."""
    fired = np.zeros(n_frames, bool)
    for i in range(n_frames):
        frame = Frame(scene.jpeg(i), i / scene.fps, i, scene.width, scene.height)
        fired[i] = detector.process(frame) is not None
    motion, unscored = scene.ground_truth(n_frames)
    scored = fired & ~unscored
    hits = int((scored & motion).sum())
    return Score(
        fired=fired,
        motion=motion,
        precision=hits / max(1, int(scored.sum())),
        recall=hits / max(1, int(motion.sum())),
    )
