"""Headers: case-insensitive, validated on assignment (no header injection reaches the wire)."""

from __future__ import annotations

import pytest

from yardcam import requests
from yardcam.requests import Headers


def test_case_insensitive_and_keeps_spelling() -> None:
    h = Headers({"Content-Type": "a"})
    h["X-Frame-Id"] = "7"
    assert h["content-type"] == "a" and "CONTENT-TYPE" in h
    assert list(h) == ["Content-Type", "X-Frame-Id"]
    h["content-type"] = "b"
    assert h["Content-Type"] == "b" and len(h) == 2
    assert h == {"CONTENT-TYPE": "b", "x-frame-id": "7"}
    del h["X-FRAME-ID"]
    assert "x-frame-id" not in h


def test_get_ignores_case_and_falls_back_to_the_default() -> None:
    h = Headers({"Retry-After": "3"})
    assert h.get("retry-after") == "3" and h.get("RETRY-AFTER", "x") == "3"
    assert h.get("content-encoding") is None and h.get("content-encoding", "identity") == "identity"
    assert h.get(3) is None  # type: ignore[arg-type]


def test_received_duplicates_are_joined() -> None:
    h = Headers.from_raw([(b"vary", b"a"), (b"Vary", b"b"), (b"x", b"1")])
    assert h["Vary"] == "a, b"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("X-Ok", "a\r\nX-Injected: 1"),
        ("X-Ok", "a\nb"),
        ("X-Ok", "nul\x00"),
        ("X-Ok", " padded"),
        ("X-Ok", 42),
        ("X-Ok", None),
        ("Bad Name", "v"),
        ("Bad:Name", "v"),
        ("", "v"),
        (b"X-Bytes-Name", "v"),
    ],
)
def test_invalid_headers_fail_before_sending(
    name: object, value: object, refused_port: int
) -> None:
    with pytest.raises(requests.InvalidHeader):
        Headers()[name] = value  # type: ignore[index]
    # Even against a port nobody listens on: the error is InvalidHeader, not ConnectionError.
    headers = {name: value} if value is not None else {name: "v", "Bad Name": "v"}
    with pytest.raises(requests.InvalidHeader):
        requests.get(f"http://127.0.0.1:{refused_port}/", headers=headers)  # type: ignore[dict-item]


def test_bytes_values_are_latin1() -> None:
    h = Headers()
    h["X"] = b"caf\xe9"
    assert h["x"] == "caf\u00e9"
