"""Both apps' logging: text for people, JSON lines for journald/Loki, secrets never written."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from yardcam.logs import configure_logging


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


SECRETS = ("s3cret", "SKEY", "yc_0123456789ab_tokentokentoken", "hunter2")


def _log_secrets() -> None:
    log = logging.getLogger("yardcam.test")
    log.info("index postgresql://archive:%s@db/yc ready", "s3cret")
    log.warning("blobs s3://frames?endpoint=http://s3:8333&secret_key=SKEY")
    log.info("sent with Authorization: Bearer yc_0123456789ab_tokentokentoken")
    try:
        raise OSError("cannot open rtsp://admin:hunter2@10.0.0.9/stream")
    except OSError:
        log.exception("camera failed")


def test_json_lines(restore_logging: None) -> None:
    out = io.StringIO()
    configure_logging("json", "info", out)
    _log_secrets()
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["level"] for line in lines] == ["info", "warning", "info", "error"]
    assert lines[0]["logger"] == "yardcam.test" and lines[0]["ts"].endswith("+00:00")
    assert lines[0]["message"] == "index postgresql://archive:***@db/yc ready"
    assert "secret_key=***" in lines[1]["message"]
    assert "OSError" in lines[3]["exc"]
    assert not any(secret in out.getvalue() for secret in SECRETS)


def test_text_for_people(restore_logging: None) -> None:
    out = io.StringIO()
    configure_logging("text", "warning", out)
    _log_secrets()
    text = out.getvalue()
    assert "WARNING yardcam.test: blobs s3://frames?endpoint=http://s3:8333&secret_key=***" in text
    assert "index" not in text  # below the level
    assert "Traceback" in text and "rtsp://admin:***@10.0.0.9/stream" in text
    assert not any(secret in text for secret in SECRETS)
