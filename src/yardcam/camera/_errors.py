"""The camera package's two errors.

::

    OSError
     └── SourceError      a running source failed (unplugged, stream dropped); FrameHub.run retries
    ValueError
     └── InvalidSource    open_source() cannot build a source from this spec in this install

"The camera failed" is kept apart from "the source was misconfigured": the first is retried with
backoff forever, the second is reported once, at startup.
"""

from __future__ import annotations


class SourceError(OSError):
    """A source failed while producing frames; retrying later may succeed."""


class InvalidSource(ValueError):
    """The source spec is malformed, or needs an optional extra that is not installed."""
