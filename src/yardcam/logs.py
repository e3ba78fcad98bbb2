"""Logging for both apps: human text on a terminal, one JSON object per line for journald/Loki.

Every record passes :func:`yardcam.config.redact_text` after formatting (message, arguments and
traceback alike), so a URL with a password, an S3 key parameter or a bearer token never reaches
a log, whichever module logged it.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import TextIO

from yardcam.config import redact_text

_TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _RedactingText(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))


class _Json(logging.Formatter):
    """``{"ts", "level", "logger", "message"[, "exc"]}``: the fields Loki and journald index."""

    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact_text(record.getMessage()),
        }
        if record.exc_info:
            doc["exc"] = redact_text(self.formatException(record.exc_info))
        return json.dumps(doc, ensure_ascii=False)


def configure_logging(fmt: str = "text", level: str = "info", stream: TextIO | None = None) -> None:
    """Send every logger's records to ``stream`` (stderr) as ``fmt`` ("text" or "json").

    Replaces the root handlers (so calling it twice does not double lines); uvicorn is started
    with ``log_config=None`` so its loggers use this too.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(_Json() if fmt == "json" else _RedactingText(_TEXT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
