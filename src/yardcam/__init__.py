"""yardcam: a motion camera whose every triggered frame reaches an off-site archive.

Flow, one direction only: ``camera`` -> ``motion`` -> ``archiver`` (built on ``requests``)
-> network -> ``cloud``. ``cam`` and ``cloud`` are the two web apps; ``web`` is what they share.
"""

__version__ = "0.1.0"
