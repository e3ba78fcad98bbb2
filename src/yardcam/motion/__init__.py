"""Motion detection on a DCT-scaled grayscale decode, against a background model.

The detector measures each frame's ``change`` (``_meter`` defines it), groups frames above the
threshold into motion events (``_grouping`` states the rules) and publishes two streams, both
called on the event loop, in order, with callbacks that must not block:

* ``detector.subscribe(callback)``: a :class:`MotionEvent` (a *trigger*) for each frame to keep,
  as picked by the camera's :class:`ArchivePolicy` (by default the first and the best frame of
  each event, and one a second in between). ``trigger.event`` is its event's id. The uploader
  archives these.
* ``detector.subscribe_events(callback)``: an :class:`Event` snapshot when an event starts
  (``phase`` START), at most once a second while it runs (UPDATE), and once when it ends (END):
  id, start, end, duration, frames, archived, peak_change and the best frame;
  ``event.to_dict()`` is its JSON form without the image. ``detector.current_event`` is the one
  running now, ``detector.last_event`` the latest notice of any.

>>> from yardcam.camera import SyntheticScene, Frame
>>> scene = SyntheticScene(width=320, height=180, objects=False)
>>> detector = MotionDetector()
>>> [detector.process(Frame(scene.jpeg(i), 0.0, i, 320, 180)) for i in range(3)]
[None, None, None]

An event from changes fed by hand (``decide`` takes a measured change):

>>> detector = MotionDetector(min_frames=1)
>>> notices = []
>>> detector.subscribe_events(notices.append)
>>> for i, change in enumerate([50, 60, 0, 0]):
...     _ = detector.decide(Frame(b"", i / 10, i, 320, 180), change)
>>> detector.end_event(now=1.0)
>>> [(n.phase.value, n.frames, n.peak_change, n.best.seq) for n in notices]
[('start', 1, 50, 0), ('end', 2, 60, 1)]
"""

from ._detector import MotionDetector
from ._event import Event, EventPhase, MotionEvent
from ._meter import ChangeMeter
from ._policy import ArchivePolicy
from ._zones import Polygon, Rect, Zone, parse_zone, watch_mask

__all__ = [
    "ArchivePolicy",
    "ChangeMeter",
    "Event",
    "EventPhase",
    "MotionDetector",
    "MotionEvent",
    "Polygon",
    "Rect",
    "Zone",
    "parse_zone",
    "watch_mask",
]
