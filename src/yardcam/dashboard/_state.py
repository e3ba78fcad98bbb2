"""Settings changed in the app that must survive a restart, in ``DATA/state.json``.

The file is one JSON object, keyed by camera name::

    {"version": 1, "cameras": {"yard": {"threshold": 20}}}

``yardcam run`` (its config loading) and the web app both read it with
:func:`load_camera_state`; only the web app writes it (``POST /config``, ``set_threshold``).
A missing or unreadable file means "nothing changed in the app": the command line's values hold.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

from ..durable import write_atomic

log = logging.getLogger(__name__)

STATE_FILE = "state.json"
_lock = threading.Lock()


def load_camera_state(data_dir: Path, camera: str) -> dict[str, Any]:
    """What the app saved for ``camera`` (e.g. ``{"threshold": 20}``); ``{}`` if nothing.

    >>> load_camera_state(Path("/nonexistent"), "yard")
    {}
    """
    saved = _read(data_dir / STATE_FILE).get(camera)
    return dict(saved) if isinstance(saved, dict) else {}


def save_camera_state(data_dir: Path, camera: str, **values: Any) -> None:
    """Merge ``values`` into ``camera``'s entry, atomically (blocking: run off the loop)."""
    path = data_dir / STATE_FILE
    with _lock:
        cameras = _read(path)
        cameras[camera] = {**cameras.get(camera, {}), **values}
        doc = {"version": 1, "cameras": cameras}
        write_atomic(path, json.dumps(doc, indent=2, sort_keys=True).encode() + b"\n")


def _read(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        log.error("%s is not valid JSON (%s); using the command line's settings", path, exc)
        return {}
    cameras = doc.get("cameras") if isinstance(doc, dict) else None
    return dict(cameras) if isinstance(cameras, dict) else {}
