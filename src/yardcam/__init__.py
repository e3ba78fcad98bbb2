"""yardcam: a motion camera whose every triggered frame reaches an off-site archive.

Flow, one direction only: ``camera`` (frame sources) -> ``motion`` (the detector) -> ``outbox``
(the durable queue and its uploader, built on ``requests``) -> network -> ``archive`` (the archive
service). ``dashboard`` (the camera's web app) and ``archive`` are the two web apps; ``web`` is
what they share.
"""

__version__ = "0.1.0"
