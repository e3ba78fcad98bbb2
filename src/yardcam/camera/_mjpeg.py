"""MJPEG over HTTP (``multipart/x-mixed-replace``): a sans-I/O parser and the source built on it.

The parser only turns bytes into JPEG payloads, so it is tested without a network; the source
drives it from a ``yardcam.requests`` streaming response. Each part is ``--boundary`` CRLF, headers,
CRLF, the JPEG, CRLF. When a part carries ``Content-Length`` (most cameras send it) the body is
taken by count; otherwise the body runs up to the next ``CRLF--boundary``. Parts that are not
JPEGs are skipped (some cameras interleave text parts); an over-long part is an error, since a
source that never finds its next boundary would otherwise buffer without limit.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import simplejpeg

from ._errors import SourceError
from ._frame import Frame

MAX_PART = 32 * 1024 * 1024
_MAX_HEADERS = 16 * 1024


def boundary_from_content_type(content_type: str) -> bytes:
    """The boundary of a ``multipart/x-mixed-replace`` Content-Type; SourceError otherwise.

    >>> boundary_from_content_type('multipart/x-mixed-replace; boundary="--frame"')
    b'frame'
    """
    kind, _, params = content_type.partition(";")
    if kind.strip().lower() != "multipart/x-mixed-replace":
        raise SourceError(f"not an MJPEG stream: Content-Type {content_type!r}")
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "boundary":
            # Some cameras put the leading dashes in the parameter too; the delimiter adds its own.
            boundary = value.strip().strip('"').removeprefix("--")
            if boundary:
                return boundary.encode("latin-1")
    raise SourceError(f"MJPEG Content-Type has no boundary: {content_type!r}")


class MjpegParser:
    """Feed stream bytes in, get complete JPEG payloads out.

    >>> p = MjpegParser(b"f")
    >>> p.feed(b"--f\\r\\nContent-Length: 6\\r\\n\\r\\n\\xff\\xd8..\\xff\\xd9\\r\\n--f")
    [b'\\xff\\xd8..\\xff\\xd9']
    """

    def __init__(self, boundary: bytes, *, max_part: int = MAX_PART) -> None:
        self._delimiter = b"--" + boundary
        self._max_part = max_part
        self._buffer = bytearray()
        self._length: int | None = None  # Content-Length of the part being read
        self._in_body = False
        self.skipped = 0  # parts that were not JPEGs

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        parts: list[bytes] = []
        while (part := self._next_part()) is not None:
            if part.startswith(b"\xff\xd8"):
                parts.append(part)
            else:
                self.skipped += 1
        return parts

    def _next_part(self) -> bytes | None:
        buffer = self._buffer
        if not self._in_body:
            start = buffer.find(self._delimiter)
            if start < 0:
                # Keep a tail that may hold the start of a delimiter split across two reads.
                del buffer[: max(0, len(buffer) - len(self._delimiter))]
                return None
            end = buffer.find(b"\r\n\r\n", start)
            if end < 0:
                if len(buffer) - start > _MAX_HEADERS:
                    raise SourceError("MJPEG part headers too long")
                return None
            self._length = _content_length(bytes(buffer[start + len(self._delimiter) : end]))
            if self._length is not None and self._length > self._max_part:
                raise SourceError(f"MJPEG part of {self._length} bytes is over the limit")
            del buffer[: end + 4]
            self._in_body = True
        if self._length is not None:
            if len(buffer) < self._length:
                return None
            size = self._length
        else:
            size = buffer.find(b"\r\n" + self._delimiter)
            if size < 0:
                if len(buffer) > self._max_part:
                    raise SourceError("MJPEG part without a boundary is over the limit")
                return None
        part = bytes(buffer[:size])
        del buffer[:size]
        self._in_body = False
        return part


def _content_length(headers: bytes) -> int | None:
    for line in headers.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                length = int(value.strip())
            except ValueError:
                raise SourceError(f"bad MJPEG Content-Length {value.strip()!r}") from None
            if length < 0:
                raise SourceError(f"bad MJPEG Content-Length {length}")
            return length
    return None


class MjpegSource:
    """Frames from an MJPEG URL (an IP camera, or another yardcam's stream).

    ``options`` go to ``AsyncSession.get`` (``verify``, ``timeout``, ``auth``, ``headers``...).
    Another yardcam's stream needs a read token and, for its self-signed certificate, its CA:
    ``token_file`` (re-read at every reconnect, so a rotated token is picked up) is sent as
    ``Authorization: Bearer``, and ``ca_bundle`` verifies the server. A live stream never ends
    on its own, so an end of stream is a failure for the hub to retry.
    """

    def __init__(
        self,
        url: str,
        *,
        token_file: Path | None = None,
        ca_bundle: Path | None = None,
        **options: Any,
    ) -> None:
        self.url = url
        self.token_file = token_file
        self.options = options
        if ca_bundle is not None:
            self.options["verify"] = str(ca_bundle)

    async def frames(self) -> AsyncIterator[Frame]:
        from yardcam import requests  # imported late: the camera works without a network stack

        seq = 0
        async with requests.AsyncSession() as session:
            options = dict(self.options)
            if self.token_file is not None:
                try:
                    token = self.token_file.read_text(encoding="utf-8").strip()
                except OSError as exc:
                    raise SourceError(f"cannot read the stream's token: {exc}") from exc
                headers = {**options.get("headers", {}), "Authorization": f"Bearer {token}"}
                options["headers"] = headers
            response = await session.get(self.url, stream=True, **options)
            try:
                if response.status_code != 200:
                    raise SourceError(self._refused(response.status_code, response.reason))
                parser = MjpegParser(
                    boundary_from_content_type(response.headers.get("Content-Type", ""))
                )
                # No chunk size: take blocks as they arrive, a fixed size would hold frames back.
                async for chunk in response.aiter_content(None):
                    for jpeg in parser.feed(chunk):
                        try:
                            height, width = simplejpeg.decode_jpeg_header(jpeg)[:2]
                        except ValueError:
                            parser.skipped += 1
                            continue
                        yield Frame(jpeg, ts=time.time(), seq=seq, width=width, height=height)
                        seq += 1
            finally:
                await response.aclose()
        raise SourceError("MJPEG stream ended")

    def _refused(self, status: int, reason: str) -> str:
        """What the stream's refusal means for whoever set this source up (the hub retries, so
        this line is what they see in the log and on the dashboard's offline banner)."""
        said = f"MJPEG stream answered {status} {reason}"
        if status == 401 and self.token_file is None:
            return (
                f"{said}: it needs a token; for another yardcam, make a read token there "
                "('yardcam token create NAME --scope read') and give its file as "
                "source_token_file"
            )
        if status == 401:
            return (
                f"{said}: the token in {self.token_file} was refused (revoked, or made on "
                "another cam); make a new read token on that cam"
            )
        if status == 403:
            return f"{said}: the token in {self.token_file} may not read the stream"
        if status == 404:
            return f"{said}: no stream at that path (another yardcam serves /stream.jpg)"
        return said
