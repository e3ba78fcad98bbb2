"""Stream a ``multipart/form-data`` upload straight into a blob writer.

python-multipart's push parser is fed from the request's body chunks; its callbacks handle text
fields and the JPEG checks on the spot and queue only the image's storage work, which the loop
below awaits after each chunk, so memory holds at most one chunk plus the blob writer's bounded
buffer. Refusals are raised as soon as
they are known (size, content, syntax) so the rest of the body is never read.
"""

from __future__ import annotations

import math
import re
from collections.abc import AsyncGenerator, Awaitable, Callable
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
# The Content-Disposition every client we know sends; anything else takes the general parser.
_SIMPLE_DISPOSITION = re.compile(rb'form-data; name="([^"\\]*)"(?:; filename="[^"\\]*")?')


def _too_large(max_image: int) -> ApiError:
    """Every 413 names the limit the operator set (``max_frame_bytes``), never the body's limit
    derived from it (that plus :data:`MULTIPART_OVERHEAD`), which nobody configured.
    """
    return ApiError(
        413,
        f"frame larger than the archive's max_frame_bytes ({max_image} bytes): send a smaller "
        "JPEG, or raise max_frame_bytes in the archive's configuration",
    )


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


class _Parts:
    """python-multipart callbacks: text fields and checks are handled right here (sync);
    only the image's storage work is queued for the async loop ("open", "data", "end").

    Raising in a callback stops the parser and reaches ``receive_upload`` as is.
    """

    def __init__(self, fields: dict[str, str], max_image: int) -> None:
        self.fields = fields
        self.queue: list[tuple[str, bytes]] = []
        self.finished = False
        self.sniffer: JpegSniffer | None = None
        self.image_done = False
        self._max_image = max_image
        self._part = _Part()
        self._count = 0
        self._field = bytearray()
        self._value = bytearray()

    def callbacks(self) -> dict[str, Callable[..., None]]:
        return {
            "on_part_begin": self._begin,
            "on_header_field": lambda d, s, e: self._field.extend(d[s:e]),
            "on_header_value": lambda d, s, e: self._value.extend(d[s:e]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._data,
            "on_part_end": self._end,
            "on_end": self._finish,
        }

    def _begin(self) -> None:
        self._count += 1
        if self._count > _MAX_PARTS:
            raise ApiError(400, "malformed multipart: too many parts")
        self._part = _Part()

    def _header_end(self) -> None:
        name = self._field.decode("latin-1").lower()
        self._part.headers[name] = self._value.decode("latin-1")
        self._field.clear()
        self._value.clear()

    def _headers_finished(self) -> None:
        part = self._part
        # The filename (if any) is deliberately ignored: it never becomes a path or a type.
        part.name = _form_data_name(part.headers.get("content-disposition", ""))
        if part.name == IMAGE_FIELD:
            if self.sniffer is not None:
                raise ApiError(400, "more than one image part")
            part.is_image = True
            self.sniffer = JpegSniffer()
            self.queue.append(("open", b""))

    def _data(self, data: bytes, start: int, end: int) -> None:
        part = self._part
        if part.is_image:
            assert self.sniffer is not None
            chunk = bytes(data[start:end])
            try:
                self.sniffer.feed(chunk)
            except NotJpeg as exc:
                raise ApiError(415, str(exc)) from exc
            if self.sniffer.size > self._max_image:
                raise _too_large(self._max_image)
            self.queue.append(("data", chunk))
            return
        part.value += data[start:end]
        if len(part.value) > _MAX_FIELD_BYTES:
            if "filename=" in part.headers.get("content-disposition", ""):
                # Most likely the frame itself, sent under another name (curl -F file=@...).
                raise ApiError(
                    400,
                    f"part {part.name!r} is a file: send the JPEG as the {IMAGE_FIELD!r} part "
                    f"(curl -F {IMAGE_FIELD}=@frame.jpg); other parts are short text fields",
                )
            raise ApiError(400, f"field {part.name!r} longer than {_MAX_FIELD_BYTES} bytes")

    def _end(self) -> None:
        part = self._part
        if part.is_image:
            self.image_done = True
        elif part.name:
            try:
                self.fields[part.name] = part.value.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ApiError(400, f"field {part.name!r} is not UTF-8") from exc

    def _finish(self) -> None:
        self.finished = True


def _form_data_name(disposition: str) -> str:
    # parse_options_header costs ~10 us a part; the common form is matched directly.
    simple = _SIMPLE_DISPOSITION.fullmatch(disposition.encode("latin-1"))
    if simple is not None:
        return simple[1].decode("utf-8", "replace")
    kind, options = parse_options_header(disposition)
    if kind != b"form-data" or b"name" not in options:
        raise ApiError(400, "malformed multipart: part without form-data name")
    return options[b"name"].decode("utf-8", "replace")


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


async def receive_upload(
    body: AsyncGenerator[bytes, None],
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
        raise _too_large(max_image)
    parts = _Parts({} if fields is None else fields, max_image)
    parser = MultipartParser(boundary, parts.callbacks())  # type: ignore[arg-type]
    writer: BlobWriter | None = None
    received = 0
    committed = False
    try:
        async for chunk in body:
            received += len(chunk)
            if received > max_body:
                raise _too_large(max_image)
            try:
                parser.write(chunk)
            except FormParserError as exc:
                raise ApiError(400, f"malformed multipart: {exc}") from exc
            queued, parts.queue = parts.queue, []
            for kind, data in queued:
                if kind == "open":
                    writer = await open_writer()
                elif writer is not None:
                    await writer.write(data)
            if parts.finished:
                break
        if not parts.finished:
            raise ApiError(400, "malformed multipart: body ended before the closing boundary")
        if writer is None or parts.sniffer is None or not parts.image_done:
            raise ApiError(400, f"missing {IMAGE_FIELD!r} file part")
        try:
            width, height = parts.sniffer.finish()
        except NotJpeg as exc:
            raise ApiError(415, str(exc)) from exc
        blob = await writer.commit()
        committed = True
        return Upload(blob, width, height, parts.fields)
    finally:
        # Closed here, not by the loop's async-generator finalizer (a self-pipe write and a
        # task per upload, as the body stops at the closing boundary before the stream ends).
        await body.aclose()
        if writer is not None and not committed:
            await writer.abort()


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
