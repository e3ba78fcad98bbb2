"""Stream a ``multipart/form-data`` upload straight into a blob writer.

python-multipart's push parser is fed from the request's body chunks; its callbacks only queue
events, and the loop below applies them (awaiting storage writes) after each chunk, so memory
holds at most one chunk plus the blob writer's bounded buffer. Refusals are raised as soon as
they are known (size, content, syntax) so the rest of the body is never read.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from ._errors import ApiError
from ._jpeg import JpegSniffer, NotJpeg
from .storage import BlobWriter, StoredBlob

IMAGE_FIELD = "image"
MULTIPART_OVERHEAD = 64 * 1024  # headers and small fields allowed on top of the image limit
_MAX_FIELD_BYTES = 1024
_MAX_PARTS = 16


@dataclass
class Upload:
    """A stored image (committed blob) and the text fields sent alongside it."""

    blob: StoredBlob
    width: int
    height: int
    fields: dict[str, str] = field(default_factory=dict)


@dataclass
class _Part:
    headers: dict[str, str] = field(default_factory=dict)
    name: str = ""
    is_image: bool = False
    value: bytearray = field(default_factory=bytearray)


class _Events:
    """python-multipart callbacks, recorded for the async loop to apply in order."""

    def __init__(self) -> None:
        self.queue: list[tuple[str, bytes]] = []
        self.finished = False
        self._field = bytearray()
        self._value = bytearray()

    def callbacks(self) -> dict[str, Callable[..., None]]:
        return {
            "on_part_begin": lambda: self.queue.append(("begin", b"")),
            "on_header_field": lambda d, s, e: self._field.extend(d[s:e]),
            "on_header_value": lambda d, s, e: self._value.extend(d[s:e]),
            "on_header_end": self._header_end,
            "on_headers_finished": lambda: self.queue.append(("headers", b"")),
            "on_part_data": lambda d, s, e: self.queue.append(("data", bytes(d[s:e]))),
            "on_part_end": lambda: self.queue.append(("end", b"")),
            "on_end": self._end,
        }

    def _header_end(self) -> None:
        self.queue.append(("header", bytes(self._field) + b"\0" + bytes(self._value)))
        self._field.clear()
        self._value.clear()

    def _end(self) -> None:
        self.finished = True


def boundary_of(content_type: str | None) -> bytes:
    if not content_type:
        raise ApiError(415, "expected a multipart/form-data body")
    kind, options = parse_options_header(content_type)
    if kind != b"multipart/form-data":
        raise ApiError(415, "expected a multipart/form-data body")
    boundary = options.get(b"boundary", b"")
    if not 1 <= len(boundary) <= 70:
        raise ApiError(400, "malformed multipart: missing or invalid boundary")
    return boundary


class _Receiver:
    def __init__(
        self,
        open_writer: Callable[[], Awaitable[BlobWriter]],
        max_image: int,
        fields: dict[str, str],
    ) -> None:
        self._open_writer = open_writer
        self._max_image = max_image
        self.writer: BlobWriter | None = None
        self.sniffer: JpegSniffer | None = None
        self.fields = fields
        self._part: _Part | None = None
        self._parts = 0
        self.image_done = False

    async def apply(self, kind: str, data: bytes) -> None:
        if kind == "begin":
            self._parts += 1
            if self._parts > _MAX_PARTS:
                raise ApiError(400, "malformed multipart: too many parts")
            self._part = _Part()
            return
        part = self._part
        if part is None:
            raise ApiError(400, "malformed multipart")
        if kind == "header":
            name, _, value = data.partition(b"\0")
            part.headers[name.decode("latin-1").lower()] = value.decode("latin-1")
        elif kind == "headers":
            await self._start(part)
        elif kind == "data":
            await self._data(part, data)
        elif kind == "end":
            self._end(part)

    async def _start(self, part: _Part) -> None:
        disposition, options = parse_options_header(part.headers.get("content-disposition", ""))
        if disposition != b"form-data" or b"name" not in options:
            raise ApiError(400, "malformed multipart: part without form-data name")
        # The filename (if any) is deliberately ignored: it never becomes a path or a type.
        part.name = options[b"name"].decode("utf-8", "replace")
        if part.name == IMAGE_FIELD:
            if self.writer is not None:
                raise ApiError(400, "more than one image part")
            part.is_image = True
            self.sniffer = JpegSniffer()
            self.writer = await self._open_writer()

    async def _data(self, part: _Part, data: bytes) -> None:
        if part.is_image:
            assert self.sniffer is not None and self.writer is not None
            try:
                self.sniffer.feed(data)
            except NotJpeg as exc:
                raise ApiError(415, str(exc)) from exc
            if self.sniffer.size > self._max_image:
                raise ApiError(413, f"image larger than {self._max_image} bytes")
            await self.writer.write(data)
            return
        part.value += data
        if len(part.value) > _MAX_FIELD_BYTES:
            raise ApiError(400, f"field {part.name!r} longer than {_MAX_FIELD_BYTES} bytes")

    def _end(self, part: _Part) -> None:
        if part.is_image:
            self.image_done = True
        elif part.name:
            try:
                self.fields[part.name] = part.value.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ApiError(400, f"field {part.name!r} is not UTF-8") from exc
        self._part = None


async def receive_upload(
    body: AsyncIterator[bytes],
    content_type: str | None,
    content_length: int | None,
    *,
    max_image: int,
    open_writer: Callable[[], Awaitable[BlobWriter]],
    fields: dict[str, str] | None = None,
) -> Upload:
    """Parse the body, storing the ``image`` part; the blob is committed only if all is well.

    Raises :class:`ApiError` (400/413/415); the partial blob is aborted on any failure, including
    the client going away (the exception propagates). Text fields are collected into
    ``fields`` as they arrive, so ``open_writer`` can see those sent before the image.
    """
    boundary = boundary_of(content_type)
    max_body = max_image + MULTIPART_OVERHEAD
    if content_length is not None and content_length > max_body:
        raise ApiError(413, f"body larger than {max_body} bytes")
    events = _Events()
    parser = MultipartParser(boundary, events.callbacks())  # type: ignore[arg-type]
    receiver = _Receiver(open_writer, max_image, {} if fields is None else fields)
    received = 0
    committed = False
    try:
        async for chunk in body:
            received += len(chunk)
            if received > max_body:
                raise ApiError(413, f"body larger than {max_body} bytes")
            try:
                parser.write(chunk)
            except FormParserError as exc:
                raise ApiError(400, f"malformed multipart: {exc}") from exc
            queued, events.queue = events.queue, []
            for kind, data in queued:
                await receiver.apply(kind, data)
            if events.finished:
                break
        if not events.finished:
            raise ApiError(400, "malformed multipart: body ended before the closing boundary")
        if receiver.writer is None or receiver.sniffer is None or not receiver.image_done:
            raise ApiError(400, f"missing {IMAGE_FIELD!r} file part")
        try:
            width, height = receiver.sniffer.finish()
        except NotJpeg as exc:
            raise ApiError(415, str(exc)) from exc
        blob = await receiver.writer.commit()
        committed = True
        return Upload(blob, width, height, receiver.fields)
    finally:
        if receiver.writer is not None and not committed:
            await receiver.writer.abort()


def parse_float(fields: dict[str, str], name: str) -> float | None:
    raw = fields.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ApiError(400, f"field {name!r} must be a number") from None
    if not math.isfinite(value):
        raise ApiError(400, f"field {name!r} must be finite")
    return value


def parse_int(fields: dict[str, str], name: str) -> int | None:
    raw = fields.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"field {name!r} must be an integer") from None
    if not -(2**63) <= value < 2**63:
        raise ApiError(400, f"field {name!r} out of range")
    return value
