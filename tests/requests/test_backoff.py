"""The one backoff policy (client retries, the outbox uploader, the camera hub)."""

from __future__ import annotations

import random

import pytest

from yardcam.requests import Backoff


def test_grows_exponentially_to_the_cap_with_jitter_in_the_upper_half() -> None:
    backoff = Backoff(base=1.0, cap=16.0, rng=random.Random(4))
    for failures, low, high in [(1, 0.5, 1), (2, 1, 2), (3, 2, 4), (5, 8, 16), (50, 8, 16)]:
        assert backoff.ceiling(failures) == high
        delays = {backoff.delay(failures) for _ in range(50)}
        assert all(low <= d <= high for d in delays) and len(delays) > 1
    assert backoff.delay(10_000) <= 16.0  # a long outage does not overflow


def test_retry_after_is_a_floor() -> None:
    backoff = Backoff(base=1.0, cap=16.0)
    assert backoff.delay(1, retry_after=60.0) == 60.0
    assert 2.0 <= backoff.delay(3, retry_after=0.0) <= 4.0


def test_zero_base_retries_at_once_and_bad_bounds_are_refused() -> None:
    assert Backoff(base=0).delay(7) == 0.0
    with pytest.raises(ValueError, match="need 0 <= base <= cap"):
        Backoff(base=-1)
    with pytest.raises(ValueError, match="need 0 <= base <= cap"):
        Backoff(base=10, cap=1)
