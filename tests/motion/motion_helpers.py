"""Run a detector over a synthetic scene frame by frame, and score it against the ground truth."""

from dataclasses import dataclass

import numpy as np

from yardcam.camera import Frame, SyntheticScene
from yardcam.motion import MotionDetector

PERSON = 0.01  # the bar: people covering 1 % of the frame or more must be caught


@dataclass
class Score:
    fired: np.ndarray
    motion: np.ndarray
    precision: float
    recall: float
    people: int  # frames with a person of at least 1 % of the frame wholly in view
    people_fired: int  # of those, the ones that fired
    crossings: list[bool]  # per crossing of such a person that ended in the run: caught?
    events: int

    @property
    def people_recall(self) -> float:
        return self.people_fired / max(1, self.people)


def render(scene: SyntheticScene, n_frames: int) -> list[Frame]:
    """Frames ``0..n_frames-1``, frame ``i`` captured at ``i / fps`` seconds."""
    return [
        Frame(scene.jpeg(i), i / scene.fps, i, scene.width, scene.height) for i in range(n_frames)
    ]


def score(scene: SyntheticScene, detector: MotionDetector, frames: list[Frame] | int) -> Score:
    """Measure every frame (no skipping) and score the frames that fired (started or joined an
    event) against the ground truth; a person smaller than 1 % of the frame that fires is not
    a false alarm, but only the larger ones count for ``people_recall`` and ``crossings``."""
    if isinstance(frames, int):
        frames = render(scene, frames)
    fired = np.zeros(len(frames), bool)
    for i, frame in enumerate(frames):
        detector.process(frame)
        fired[i] = detector.firing
    motion, unscored = scene.ground_truth(len(frames))
    scored = fired & ~unscored
    hits = int((scored & motion).sum())
    big = np.zeros(len(frames), bool)
    crossings = []
    for c in scene.crossings(len(frames)):
        if c.area >= PERSON and c.leaves <= len(frames):
            big[c.inside : c.leaves] = True
            crossings.append(bool(fired[c.inside : c.leaves].any()))
    return Score(
        fired=fired,
        motion=motion,
        precision=hits / max(1, int(scored.sum())),
        recall=hits / max(1, int(motion.sum())),
        people=int(big.sum()),
        people_fired=int((fired & big).sum()),
        crossings=crossings,
        events=detector.event_count,
    )
