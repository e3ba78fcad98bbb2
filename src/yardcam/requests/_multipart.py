"""multipart/form-data bodies, encoded while they are sent.

``requests`` renders the whole multipart body into one bytes object before sending (about twice
the upload in memory); a cam uploading while it detects motion cannot afford that. Here each part
is a small rendered head plus a :class:`~yardcam.requests._body.Body` for its content: files
stream in large blocks that are yielded exactly as read, and only the small pieces (boundaries,
headers, short fields) are joined, so a frame costs a few sends instead of one per piece.
"""

from __future__ import annotations

import mimetypes
import os
import re
import secrets
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from yardcam.requests._body import Body, BytesBody, FileBody, field_name, form_fields
from yardcam.requests._exceptions import InvalidBody

__all__ = ["MultipartBody"]

# Pieces below this size are joined before being handed to the transport; a copy this small
# is cheaper than a send. File blocks at or above it are passed through uncopied.
COALESCE_LIMIT = 64 * 1024

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 field-name
_UNSAFE_VALUE = re.compile(r"[\r\n\0]")


@dataclass(frozen=True, slots=True)
class _Part:
    head: bytes  # the boundary line and part headers, with the previous part's closing CRLF
    content: Body


class MultipartBody:
    """A multipart/form-data body: ``data`` fields first, then ``files``, like ``requests``.

    ``files`` is a mapping or a list of (name, value) pairs; a value is a binary file-like,
    bytes/str, or a tuple ``(filename, fileobj[, content_type[, headers]])``. Everything is
    checked here, before a byte is sent.
    """

    def __init__(self, files: object, data: object = None, *, boundary: str | None = None) -> None:
        self.boundary = boundary or secrets.token_hex(16)
        self.content_type: str | None = f"multipart/form-data; boundary={self.boundary}"
        fields = form_fields(data) if data is not None else []
        heads_and_contents: list[tuple[bytes, Body]] = [
            (_field_head(name), _encoded(value)) for name, value in fields
        ]
        heads_and_contents += [_file_part(name, value) for name, value in _file_items(files)]
        dash = f"--{self.boundary}".encode("ascii")
        self._parts = [
            _Part((b"\r\n" if i else b"") + dash + b"\r\n" + head, content)
            for i, (head, content) in enumerate(heads_and_contents)
        ]
        self._tail = (b"\r\n" if self._parts else b"") + dash + b"--\r\n"
        self.rewindable = all(part.content.rewindable for part in self._parts)
        self.content_length = _total_length(self._parts, self._tail)

    def __iter__(self) -> Iterator[bytes]:
        batch = _Coalescer()
        for part in self._parts:
            yield from batch.add(part.head)
            for block in part.content:
                yield from batch.add(block)
        yield from batch.add(self._tail)
        yield from batch.flush()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        batch = _Coalescer()
        for part in self._parts:
            for chunk in batch.add(part.head):
                yield chunk
            async for block in part.content:
                for chunk in batch.add(block):
                    yield chunk
        for chunk in [*batch.add(self._tail), *batch.flush()]:
            yield chunk

    def rewind(self) -> None:
        """Return every file to its start; raises UnrewindableBody if one cannot seek."""
        for part in self._parts:
            part.content.rewind()


class _Coalescer:
    """Joins small pieces into one send; big blocks go through as the same object."""

    def __init__(self) -> None:
        self._pending: list[bytes] = []
        self._size = 0

    def add(self, piece: bytes) -> list[bytes]:
        if len(piece) >= COALESCE_LIMIT:
            return [*self.flush(), piece]
        self._pending.append(piece)
        self._size += len(piece)
        return self.flush() if self._size >= COALESCE_LIMIT else []

    def flush(self) -> list[bytes]:
        if not self._pending:
            return []
        joined = b"".join(self._pending)
        self._pending.clear()
        self._size = 0
        return [joined]


def _file_items(files: object) -> Iterable[tuple[Any, Any]]:
    if isinstance(files, Mapping):
        return files.items()
    if isinstance(files, list | tuple) and all(
        isinstance(item, tuple | list) and len(item) == 2 for item in files
    ):
        return files
    raise InvalidBody("files= must be a dict or a list of (name, value) pairs")


def _file_part(name: object, value: object) -> tuple[bytes, Body]:
    """Render one ``files=`` entry: its part head and a body for its content."""
    field = field_name(name)
    where = f"files[{field!r}]"
    content_type: object = None
    headers: object = None
    if isinstance(value, tuple):
        if not 2 <= len(value) <= 4:
            raise InvalidBody(
                f"{where} must be (filename, file[, content_type[, headers]]), "
                f"got a tuple of {len(value)}"
            )
        filename, fileobj, content_type, headers = (*value, None, None)[:4]
    else:
        fileobj = value
        filename = _guess_filename(value) or field
    if filename is not None and not isinstance(filename, str):
        raise InvalidBody(f"{where} filename must be str or None, not {type(filename).__name__}")
    if content_type is None and filename is not None:
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    extra = _extra_headers(where, headers)
    if content_type is not None and "content-type" not in {k.lower() for k in extra}:
        extra = {"Content-Type": _header_value(where, content_type), **extra}
    return _field_head(field, filename, extra), _file_content(where, fileobj)


def _file_content(where: str, fileobj: object) -> Body:
    if isinstance(fileobj, str | bytes | bytearray | memoryview):
        return _encoded(fileobj)
    if hasattr(fileobj, "read"):
        return FileBody(fileobj, what=where)
    raise InvalidBody(
        f"{where} must be a binary file-like, bytes or str, not {type(fileobj).__name__}"
    )


def _field_head(
    name: str, filename: str | None = None, headers: Mapping[str, str] | None = None
) -> bytes:
    disposition = f'form-data; name="{_quote(name)}"'
    if filename is not None:
        disposition += f'; filename="{_quote(filename)}"'
    lines = [
        f"Content-Disposition: {disposition}",
        *(f"{k}: {v}" for k, v in (headers or {}).items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def _quote(text: str) -> str:
    """Escape a name for a quoted Content-Disposition parameter, as browsers do (HTML spec)."""
    return text.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def _extra_headers(where: str, headers: object) -> dict[str, str]:
    if headers is None:
        return {}
    if not isinstance(headers, Mapping):
        raise InvalidBody(f"{where} headers must be a dict, not {type(headers).__name__}")
    checked = {}
    for key, value in headers.items():
        if not (isinstance(key, str) and _TOKEN.fullmatch(key)):
            raise InvalidBody(f"{where} has an invalid header name {key!r}")
        checked[key] = _header_value(where, value)
    return checked


def _header_value(where: str, value: object) -> str:
    if not isinstance(value, str) or _UNSAFE_VALUE.search(value):
        raise InvalidBody(f"{where} header value {value!r} must be a str without CR, LF or NUL")
    return value


def _guess_filename(fileobj: object) -> str | None:
    name = getattr(fileobj, "name", None)
    # Pseudo-files such as "<stdin>" have no useful name; an int name is a file descriptor.
    if isinstance(name, str) and name and not (name.startswith("<") and name.endswith(">")):
        return os.path.basename(name)
    return None


def _encoded(value: str | bytes | bytearray | memoryview) -> BytesBody:
    return BytesBody(value.encode("utf-8") if isinstance(value, str) else bytes(value))


def _total_length(parts: list[_Part], tail: bytes) -> int | None:
    """The exact body size, or None (send chunked) if any part's size is unknown."""
    total = len(tail)
    for part in parts:
        if part.content.content_length is None:
            return None
        total += len(part.head) + part.content.content_length
    return total
