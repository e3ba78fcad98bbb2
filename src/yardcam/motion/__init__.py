"""Motion detection on a DCT-scaled grayscale decode, against a background model.

>>> from yardcam.camera import SyntheticScene, Frame
>>> scene = SyntheticScene(width=320, height=180, objects=False)
>>> detector = MotionDetector()
>>> [detector.process(Frame(scene.jpeg(i), 0.0, i, 320, 180)) for i in range(3)]
[None, None, None]
"""

from ._detector import MotionDetector
from ._event import MotionEvent
from ._meter import ChangeMeter
from ._zones import Polygon, Rect, Zone, parse_zone, watch_mask

__all__ = [
    "ChangeMeter",
    "MotionDetector",
    "MotionEvent",
    "Polygon",
    "Rect",
    "Zone",
    "parse_zone",
    "watch_mask",
]
