"""The outbox: every triggered frame reaches the archive exactly once, or is accounted for.

:class:`Outbox` is the durable pending queue on disk; :class:`Uploader` sends its entries to the
archive in the background (asyncio, ``yardcam.requests.AsyncSession``) with retries, token
rotation and dead-lettering; :class:`TokenSource` reads the upload token from a file or the
environment. The motion detector only calls :meth:`Uploader.submit`, which never blocks.
"""

from yardcam.outbox._classify import Outcome, Verdict, classify_error, classify_response
from yardcam.outbox._entry import Entry, frame_id
from yardcam.outbox._outbox import (
    AUTO,
    CorruptEntry,
    DeadLetter,
    DiskFull,
    FullPolicy,
    Outbox,
    OutboxError,
    OutboxFull,
    OutboxState,
)
from yardcam.outbox._token import TokenSource, TokenUnavailable
from yardcam.outbox._uploader import FrameLike, MotionLike, Uploader, UploadState

__all__ = [
    "AUTO",
    "CorruptEntry",
    "DeadLetter",
    "DiskFull",
    "Entry",
    "FrameLike",
    "FullPolicy",
    "MotionLike",
    "Outbox",
    "OutboxError",
    "OutboxFull",
    "OutboxState",
    "Outcome",
    "TokenSource",
    "TokenUnavailable",
    "UploadState",
    "Uploader",
    "Verdict",
    "classify_error",
    "classify_response",
    "frame_id",
]
