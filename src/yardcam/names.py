"""The names the cam side and the archive agree on without importing each other: cam names,
the cam's key of a frame, and motion event ids.

A cam name travels from the cam's config to its outbox file names (``<cam>-<ms>-<seq>``), the
upload's ``cam`` field, the archive's blob keys (``<cam>/YYYY/MM/DD/<id>.jpg``) and its URLs, so
both sides hold it to one safe alphabet: no path separators, dots or spaces. The cam checks at
start, so a name the archive would refuse never reaches the outbox.

The lowest layer, beside ``yardcam.durable``: every package may use it except ``requests``.
"""

from __future__ import annotations

import re

CAM_PATTERN = r"[A-Za-z0-9_-]{1,64}"
_CAM = re.compile(CAM_PATTERN)
# The cam's key of a frame, ``<cam>-<capture ms>-<seq>`` (yardcam.outbox's ``frame_id``): its
# outbox file name and its Idempotency-Key, which the archive stores beside its own frame id,
# so a link made on the cam (the dashboard's motion events) finds the frame in the gallery.
FRAME_KEY_PATTERN = rf"({CAM_PATTERN})-\d{{1,16}}-\d{{1,19}}"
_FRAME_KEY = re.compile(FRAME_KEY_PATTERN)
# A motion event's id as the cam's detector makes it (``yardcam.motion.Event.id``): ``<start
# ms>-<seq of its first frame>``, unique per cam. The outbox queues it with each frame, the
# archive stores it in ``frames.event``; ``<cam>-<id>`` names the event archive-wide (its URL),
# which is also the frame key of the event's first frame.
EVENT_ID_PATTERN = r"\d{1,16}-\d{1,19}"
_EVENT_ID = re.compile(EVENT_ID_PATTERN)
_EVENT_KEY = re.compile(rf"({CAM_PATTERN})-({EVENT_ID_PATTERN})")


def is_valid_cam(name: str) -> bool:
    """Cam names are 1-64 letters, digits, ``_`` and ``-`` (they become a path segment)."""
    return _CAM.fullmatch(name) is not None


def check_cam_name(cam: str) -> str:
    """``cam`` itself, or ValueError saying which names are allowed."""
    if not is_valid_cam(cam):
        raise ValueError(f"cam name {cam!r} is not allowed: use 1-64 letters, digits, '_' or '-'")
    return cam


def is_event_id(text: str) -> bool:
    """Whether ``text`` is a motion event id as the cam makes it (``<start ms>-<first seq>``)."""
    return _EVENT_ID.fullmatch(text) is not None


def event_key(cam: str, event: str) -> str:
    """The archive-wide name of a cam's motion event: ``<cam>-<event id>``."""
    return f"{cam}-{event}"


def split_event_key(key: str) -> tuple[str, str] | None:
    """``(cam, event id)`` of an :func:`event_key`, or None for any other string."""
    match = _EVENT_KEY.fullmatch(key)
    return (match.group(1), match.group(2)) if match else None


def cam_of_frame_key(key: str) -> str | None:
    """The cam part of a frame key ``<cam>-<capture ms>-<seq>``, or None for any other string."""
    match = _FRAME_KEY.fullmatch(key)
    return match.group(1) if match else None
