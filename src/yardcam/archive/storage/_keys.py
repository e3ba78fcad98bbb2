"""Blob keys are made by the server only, so no client-supplied text ever becomes a path."""

from __future__ import annotations

import os
import random
import re
import secrets
import time

from ...names import CAM_PATTERN

# The archive's own frame ids (see ``new_frame_id``): they name stored frames in URLs and blob
# keys. Not the cam's outbox ids (``<cam>-<ms>-<seq>``, ``yardcam.outbox.frame_id``), which reach
# the archive only as an upload's Idempotency-Key: a client's key for "this upload", while this
# id is the server's name for what it stored, so one frame has both and they never mix.
FRAME_ID_PATTERN = r"[0-9a-z]{8,64}"
_FRAME_ID = re.compile(FRAME_ID_PATTERN)
_KEY = re.compile(rf"{CAM_PATTERN}/[0-9]{{4}}/[0-9]{{2}}/[0-9]{{2}}/{FRAME_ID_PATTERN}\.jpg")


class _FastRandom:
    """80-bit ids from a PRNG seeded from the OS once per process (and again after a fork).

    ``os.urandom`` per id would release the GIL on the event loop for every upload; the ids need
    to be unique, not secret (every read is authenticated).
    """

    def __init__(self) -> None:
        self._pid = -1
        self._random = random.Random()

    def bits(self, n: int) -> int:
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._random.seed(secrets.token_bytes(32))
        return self._random.getrandbits(n)


_random = _FastRandom()


def is_frame_id(text: str) -> bool:
    """Whether ``text`` can be a stored frame's id (checked before it reaches the index)."""
    return bool(_FRAME_ID.fullmatch(text))


def new_frame_id() -> str:
    """Time-ordered (ms, hex) then 80 random bits: unique across nodes without coordination."""
    return f"{time.time_ns() // 1_000_000:012x}{_random.bits(80):020x}"


def new_temp_name() -> str:
    """A name for an in-progress file, unique across processes sharing a directory."""
    return f"{os.getpid()}-{_random.bits(64):016x}.part"


def blob_key(cam: str, frame_id: str, received: float) -> str:
    """``cam/YYYY/MM/DD/<id>.jpg`` by the server's UTC date of receipt."""
    day = time.strftime("%Y/%m/%d", time.gmtime(received))
    key = f"{cam}/{day}/{frame_id}.jpg"
    check_key(key)
    return key


def frame_id_of(key: str) -> str:
    """The frame id a blob key names (:func:`blob_key` puts it there): how a blob is matched to
    its index row without an index on ``blob_key``."""
    check_key(key)
    return key.rsplit("/", 1)[1].removesuffix(".jpg")


def is_key(key: str) -> bool:
    """Whether ``key`` is one :func:`blob_key` could have made (anything else in a store is
    not the archive's)."""
    return bool(_KEY.fullmatch(key))


def check_key(key: str) -> None:
    """Refuse any key this module could not have made (defence in depth for path stores)."""
    if not _KEY.fullmatch(key):
        raise ValueError(f"invalid blob key {key!r}")
