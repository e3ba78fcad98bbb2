"""The one ETag matcher (API frames and thumbnails, gallery images)."""

from __future__ import annotations

import pytest

from yardcam.archive._etag import etag_matches

TAG = '"abc123"'


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        (None, False),
        ("", False),
        ('"abc123"', True),
        ('W/"abc123"', True),  # If-None-Match compares weakly (RFC 9110 13.1.2)
        ('"other", "abc123"', True),
        ('"other",W/"abc123" ', True),
        ("*", True),
        ('"other"', False),
        ("abc123", False),  # unquoted: not the same entity tag
        ('"abc1234"', False),
    ],
)
def test_if_none_match(header: str | None, matches: bool) -> None:
    assert etag_matches(header, TAG) is matches
