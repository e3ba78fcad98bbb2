"""Is this upload a JPEG? Checked by content as it streams in, never by name or part header.

The first bytes must be SOI + a marker (refused as soon as they arrive, so a wrong file is not
read to the end), the headers must parse (width/height via libjpeg, from a bounded head), and
the data must end with EOI (a truncated upload is refused, not archived).
"""

from __future__ import annotations

import simplejpeg

_HEAD_MAX = 256 * 1024  # EXIF is at most 64 KiB; the frame header follows within this bound
_TAIL = 64  # some encoders pad after EOI


class NotJpeg(ValueError):
    pass


class JpegSniffer:
    def __init__(self) -> None:
        self._head = bytearray()
        self._tail = b""
        self.size = 0

    def feed(self, data: bytes) -> None:
        """Raises :class:`NotJpeg` as soon as the start is wrong."""
        if len(self._head) < _HEAD_MAX:
            self._head += data[: _HEAD_MAX - len(self._head)]
        self._tail = (self._tail + data)[-_TAIL:]
        before, self.size = self.size, self.size + len(data)
        if before < 4:
            self._check_start()

    def _check_start(self) -> None:
        head = bytes(self._head[:4])
        if head[:3] != b"\xff\xd8\xff"[: len(head)]:
            raise NotJpeg("not a JPEG (no SOI marker)")
        if len(head) == 4 and not 0xC0 <= head[3] <= 0xFE:
            raise NotJpeg("not a JPEG (bad first marker)")

    def finish(self) -> tuple[int, int]:
        """(width, height) of a complete JPEG, else :class:`NotJpeg`."""
        if self.size < 4:
            raise NotJpeg("not a JPEG (too short)")
        if b"\xff\xd9" not in self._tail:
            raise NotJpeg("not a JPEG (truncated: no EOI marker)")
        try:
            height, width, _, _ = simplejpeg.decode_jpeg_header(bytes(self._head))
        except ValueError as exc:
            raise NotJpeg(f"not a JPEG (bad header: {exc})") from exc
        return width, height
