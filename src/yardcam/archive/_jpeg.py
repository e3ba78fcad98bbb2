"""Is this upload a JPEG? Checked by content as it streams in, never by name or part header.

The first bytes must be SOI + a marker (refused as soon as they arrive, so a wrong file is not
read to the end), the marker segments must lead to a frame header (SOF) with a non-zero size
within a bounded head, and the image must end with EOI (a truncated upload is refused) with
nothing after it but padding (0x00/0xFF). "Its end" is the first EOI found by walking the
segments and the entropy-coded scans, not the last two bytes: a JPEG followed by HTML (or
anything else) that ends in FF D9 is a polyglot, which a browser may render as a page.

The segment walk is plain Python on purpose: it takes microseconds, and a C decoder that
releases the GIL would make the event loop wait to get it back from busy worker threads.
"""

from __future__ import annotations

import re

_HEAD_MAX = 256 * 1024  # EXIF is at most 64 KiB; the frame header follows within this bound
_PADDING = b"\x00\xff"  # what some encoders put after EOI
# In entropy-coded data FF is followed by 00 (a stuffed FF), a restart marker D0-D7 or another
# FF (fill); any other FF is the next marker. Searched in C: a Python loop over every FF of a
# 100 KB frame would cost a good part of the handler's time.
_MARKER_IN_SCAN = re.compile(rb"\xff(?![\x00\xd0-\xd7\xff])")


class NotJpeg(ValueError):
    pass


class JpegSniffer:
    """Fed the image as it arrives; keeps only the head (until the frame header) and the tail."""

    def __init__(self) -> None:
        self._head: bytearray | None = bytearray()
        self._end = _EndFinder()
        self.size = 0
        self.dimensions: tuple[int, int] | None = None  # (width, height) once the SOF is seen

    def feed(self, data: bytes) -> None:
        """Raises :class:`NotJpeg` as soon as the data so far cannot be a JPEG."""
        self.size += len(data)
        if self._head is not None:
            self._head += data[: _HEAD_MAX - len(self._head)]
            self.dimensions = frame_size(self._head)
            if self.dimensions is not None:
                self._head = None  # found: stop copying
            elif len(self._head) >= _HEAD_MAX:
                raise NotJpeg(f"not a JPEG (no frame header in the first {_HEAD_MAX} bytes)")
        self._end.feed(data)

    def finish(self) -> tuple[int, int]:
        """(width, height) of a complete JPEG, else :class:`NotJpeg`."""
        if self.dimensions is None:
            raise NotJpeg("not a JPEG (too short: no frame header)")
        if not self._end.ended:
            raise NotJpeg("not a JPEG (truncated: no EOI marker)")
        return self.dimensions


class _EndFinder:
    """Walks marker segments and scans as bytes arrive to find the image's end (its first EOI),
    and refuses anything but padding after it. Keeps at most three bytes between feeds."""

    def __init__(self) -> None:
        self._carry = b""  # the start of a marker or length split across two feeds
        self._skip = 0  # segment bytes still to pass over
        self._in_scan = False
        self.ended = False

    def feed(self, data: bytes) -> None:
        buf = self._carry + data if self._carry else data
        pos = min(self._skip, len(buf))
        self._skip -= pos
        while pos < len(buf):
            if self.ended:
                extra = len(buf[pos:].translate(None, _PADDING))
                if extra:
                    raise NotJpeg(
                        f"not a JPEG alone: data follows its end (EOI), {extra}+ bytes "
                        "(a JPEG with something appended is refused, e.g. an HTML polyglot)"
                    )
                pos = len(buf)
                break
            if self._in_scan:
                found = _MARKER_IN_SCAN.search(buf, pos)
                if found is None:  # keep a final FF: what follows it decides
                    pos = len(buf) - 1 if buf.endswith(b"\xff") else len(buf)
                    break
                if found.start() == len(buf) - 1:
                    pos = found.start()
                    break
                self._in_scan = False
                pos = found.start()
                continue
            if pos + 2 > len(buf):
                break
            if buf[pos] != 0xFF:
                raise NotJpeg("not a JPEG (bad marker segment)")
            marker = buf[pos + 1]
            if marker == 0xFF or marker in _STANDALONE or marker == 0xD8:
                pos += 1 if marker == 0xFF else 2
                continue
            if marker == 0xD9:
                self.ended = True
                pos += 2
                continue
            if pos + 4 > len(buf):
                break
            length = int.from_bytes(buf[pos + 2 : pos + 4], "big")
            if length < 2:
                raise NotJpeg("not a JPEG (bad segment length)")
            self._in_scan = marker == 0xDA
            pos += 2 + length
            if pos > len(buf):
                self._skip, pos = pos - len(buf), len(buf)
        self._carry = buf[pos:]


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
