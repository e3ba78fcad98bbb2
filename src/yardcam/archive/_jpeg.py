"""Is this upload a JPEG? Checked by content as it streams in, never by name or part header.

The first bytes must be SOI + a marker (refused as soon as they arrive, so a wrong file is not
read to the end), the marker segments must lead to a frame header (SOF) with a non-zero size
within a bounded head, and the data must end with EOI (a truncated upload is refused).

The segment walk is plain Python on purpose: it takes microseconds, and a C decoder that
releases the GIL would make the event loop wait to get it back from busy worker threads.
"""

from __future__ import annotations

_HEAD_MAX = 256 * 1024  # EXIF is at most 64 KiB; the frame header follows within this bound
_TAIL = 64  # some encoders pad after EOI


class NotJpeg(ValueError):
    pass


class JpegSniffer:
    """Fed the image as it arrives; keeps only the head (until the frame header) and the tail."""

    def __init__(self) -> None:
        self._head: bytearray | None = bytearray()
        self._tail = b""
        self.size = 0
        self.dimensions: tuple[int, int] | None = None  # (width, height) once the SOF is seen

    def feed(self, data: bytes) -> None:
        """Raises :class:`NotJpeg` as soon as the data so far cannot be a JPEG."""
        self.size += len(data)
        self._tail = (self._tail + data[-_TAIL:])[-_TAIL:]
        if self._head is None:
            return
        self._head += data[: _HEAD_MAX - len(self._head)]
        self.dimensions = frame_size(self._head)
        if self.dimensions is not None:
            self._head = None  # found: stop copying
        elif len(self._head) >= _HEAD_MAX:
            raise NotJpeg(f"not a JPEG (no frame header in the first {_HEAD_MAX} bytes)")

    def finish(self) -> tuple[int, int]:
        """(width, height) of a complete JPEG, else :class:`NotJpeg`."""
        if self.dimensions is None:
            raise NotJpeg("not a JPEG (too short: no frame header)")
        if b"\xff\xd9" not in self._tail:
            raise NotJpeg("not a JPEG (truncated: no EOI marker)")
        return self.dimensions


# Start-of-frame markers (baseline, progressive, lossless, arithmetic); not DHT/JPG/DAC.
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE = frozenset(range(0xD0, 0xD8)) | {0x01}


def frame_size(head: bytes | bytearray) -> tuple[int, int] | None:
    """(width, height) from the SOF segment, walking the marker segments after SOI.

    None when ``head`` ends before the SOF; :class:`NotJpeg` as soon as it cannot be a JPEG.
    """
    if head[:3] != b"\xff\xd8\xff"[: min(len(head), 3)]:
        raise NotJpeg("not a JPEG (no SOI marker)")
    pos = 2
    while pos + 4 <= len(head):
        if head[pos] != 0xFF:
            raise NotJpeg("not a JPEG (bad marker segment)")
        marker = head[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker in _STANDALONE:
            pos += 2
            continue
        if marker in (0xD8, 0xD9, 0xDA) or marker < 0xC0:
            raise NotJpeg("not a JPEG (no frame header before the image data)")
        length = int.from_bytes(head[pos + 2 : pos + 4], "big")
        if length < 2:
            raise NotJpeg("not a JPEG (bad segment length)")
        if marker in _SOF:
            if pos + 9 > len(head):
                return None
            if length < 8:
                raise NotJpeg("not a JPEG (short frame header)")
            height = int.from_bytes(head[pos + 5 : pos + 7], "big")
            width = int.from_bytes(head[pos + 7 : pos + 9], "big")
            if not width or not height:
                raise NotJpeg("not a JPEG (zero-sized frame)")
            return width, height
        pos += 2 + length
    return None
