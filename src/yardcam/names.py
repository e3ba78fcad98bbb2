"""The names the cam side and the archive agree on without importing each other: cam names.

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


def is_valid_cam(name: str) -> bool:
    """Cam names are 1-64 letters, digits, ``_`` and ``-`` (they become a path segment)."""
    return _CAM.fullmatch(name) is not None


def check_cam_name(cam: str) -> str:
    """``cam`` itself, or ValueError saying which names are allowed."""
    if not is_valid_cam(cam):
        raise ValueError(f"cam name {cam!r} is not allowed: use 1-64 letters, digits, '_' or '-'")
    return cam
