"""A JPEG and nothing after its end: the sniffer finds the real end (the first EOI after the
scans), whatever the chunking, and refuses what follows it; the ingest answers 415 with why."""

from __future__ import annotations

import pytest

from archive.helpers import Node, make_jpeg
from yardcam import requests
from yardcam.archive._jpeg import JpegSniffer, NotJpeg

HTML = b"<html><body><script>document.title='owned'</script></body></html>"


def sniff(data: bytes, chunk: int) -> tuple[int, int]:
    sniffer = JpegSniffer()
    for start in range(0, len(data), chunk):
        sniffer.feed(data[start : start + chunk])
    return sniffer.finish()


def segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + payload


# Hand-built, so every case the walk must get right is in it: an APP1 holding a whole JPEG
# (a thumbnail, with its own EOI), two scans (progressive), and in the entropy data a stuffed FF,
# fill bytes and a restart marker.
SOF = segment(0xC2, b"\x08\x00\x10\x00\x20\x01\x01\x11\x00")
SCAN = segment(0xDA, b"\x01\x01\x00\x00\x3f\x00") + b"\x12\xff\x00\x34\xff\xff\xd3\x56"
TRICKY = (
    b"\xff\xd8"
    + segment(0xE1, b"Exif\x00\x00" + make_jpeg(8, 8))
    + SOF
    + SCAN
    + segment(0xC4, b"\x00" * 17)
    + SCAN
    + b"\xff\xd9"
)


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 1 << 20])
def test_the_end_is_found_whatever_the_chunking(chunk: int) -> None:
    assert sniff(TRICKY, chunk) == (32, 16)
    assert sniff(make_jpeg(noise=True), chunk) == (64, 48)
    assert sniff(TRICKY + b"\x00" * 40 + b"\xff" * 3, chunk) == (32, 16)  # padding is fine


@pytest.mark.parametrize(
    "tail",
    [
        HTML,
        HTML + b"\xff\xd9",  # ends like a JPEG: the last two bytes prove nothing
        b"\x00" * 10 + b"PK\x03\x04",
        b"\xff\xd8" + b"\x00" * 100 + b"\xff\xd9",  # a second image
    ],
)
@pytest.mark.parametrize("chunk", [1, 5, 1 << 20])
def test_anything_after_the_end_is_refused(tail: bytes, chunk: int) -> None:
    with pytest.raises(NotJpeg, match="follows its end"):
        sniff(TRICKY + tail, chunk)
    with pytest.raises(NotJpeg, match="follows its end"):
        sniff(make_jpeg(noise=True) + tail, chunk)


def test_truncated_is_still_refused() -> None:
    with pytest.raises(NotJpeg, match="truncated"):
        sniff(TRICKY[:-2], 1)
    with pytest.raises(NotJpeg, match="truncated"):
        sniff(TRICKY[:-5], 1 << 20)


def test_a_polyglot_upload_is_415_with_the_reason(node: Node) -> None:
    r = requests.post(
        f"{node.url}/frames",
        data={"cam": "yard", "ts": "1700000000.5", "seq": "7", "change": "3.25"},
        files={"image": ("frame.jpg", make_jpeg() + HTML + b"\xff\xd9", "image/jpeg")},
        auth=requests.BearerAuth(node.upload),
    )
    assert r.status_code == 415
    assert "follows its end" in r.json()["error"]
    listing = requests.get(f"{node.url}/frames", auth=requests.BearerAuth(node.read))
    assert listing.json()["frames"] == []
