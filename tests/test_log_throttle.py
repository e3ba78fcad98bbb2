"""yardcam.log_throttle: a repeating failure is one line per interval, with the count folded in."""

from __future__ import annotations

import doctest
import logging

import pytest

import yardcam.log_throttle
from yardcam.log_throttle import LogThrottle


def test_one_line_per_interval_with_the_folded_count(caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    report = LogThrottle(logging.getLogger("t"), 30.0, level=logging.ERROR, clock=lambda: now[0])
    with caplog.at_level(logging.ERROR, logger="t"):
        for _ in range(500):
            report("frame dropped: %s", "disk full")
        now[0] += 30.0
        report("frame dropped: %s", "disk full")
    assert [r.getMessage() for r in caplog.records] == [
        "frame dropped: disk full",
        "frame dropped: disk full (499 more like it since the last report)",
    ]
    assert all(r.levelno == logging.ERROR for r in caplog.records)


def test_doctests() -> None:
    assert doctest.testmod(yardcam.log_throttle).failed == 0
