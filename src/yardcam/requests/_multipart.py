"""multipart/form-data bodies, encoded while they are sent.

``requests`` renders the whole multipart body into one bytes object before sending (about twice
the upload in memory); a cam uploading while it detects motion cannot afford that. Here the body
is a list of pieces: rendered bytes (boundaries, part headers, plain fields) and a
:class:`~yardcam.requests._body.FileBody` per file, which streams in large blocks that are
yielded exactly as read. Small pieces are joined, so a camera frame costs three sends (everything
before the JPEG, the JPEG, the closing boundary) instead of one per piece.
"""

from __future__ import annotations

import functools
import mimetypes
import os
import re
import secrets
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from itertools import chain
from typing import Any

from yardcam.requests._body import FileBody, field_name, form_fields
from yardcam.requests.exceptions import InvalidBody

__all__ = ["MultipartBody"]

# Pieces below this size are joined before being handed to the transport; a copy this small
# is cheaper than a send. Blocks at or above it are passed through uncopied.
COALESCE_LIMIT = 64 * 1024

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 field-name
_UNSAFE_VALUE = re.compile(r"[\r\n\0]")

_Piece = bytes | FileBody


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
        self._pieces = _frame(
            chain(
                ((_field_head(name), _as_bytes(value)) for name, value in fields),
                (_file_part(name, value) for name, value in _file_items(files)),
            ),
            self.boundary,
        )
        self._files = [piece for piece in self._pieces if isinstance(piece, FileBody)]
        self.rewindable = all(f.rewindable for f in self._files)
        self.content_length = _total_length(self._pieces)

    def __iter__(self) -> Iterator[bytes]:
        batch = _Coalescer()
        for piece in self._pieces:
            if isinstance(piece, bytes):
                yield from batch.add(piece)
            else:
                for block in piece:
                    yield from batch.add(block)
        yield from batch.flush()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        batch = _Coalescer()
        for piece in self._pieces:
            if isinstance(piece, bytes):
                for chunk in batch.add(piece):
                    yield chunk
            else:
                async for block in piece:
                    for chunk in batch.add(block):
                        yield chunk
        for chunk in batch.flush():
            yield chunk

    def rewind(self) -> None:
        """Return every file to its start; raises UnrewindableBodyError if one cannot seek."""
        for f in self._files:
            f.rewind()


class _Coalescer:
    """Joins small pieces into one; big ones pass through as the very same object."""

    def __init__(self) -> None:
        self._pending: list[bytes] = []
        self._size = 0

    def add(self, piece: bytes) -> list[bytes]:
        if len(piece) >= COALESCE_LIMIT:
            return [*self.flush(), piece]
        if not piece:
            return []
        self._pending.append(piece)
        self._size += len(piece)
        return self.flush() if self._size >= COALESCE_LIMIT else []

    def flush(self) -> list[bytes]:
        if not self._pending:
            return []
        joined = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending.clear()
        self._size = 0
        return [joined]


def _frame(parts: Iterable[tuple[bytes, _Piece]], boundary: str) -> list[_Piece]:
    """Lay the parts out between boundaries; runs of small bytes are joined here, once."""
    delimiter = f"--{boundary}\r\n".encode("ascii")
    pieces: list[_Piece] = []
    run: list[bytes] = []
    for head, content in parts:
        run += (delimiter, head)
        if isinstance(content, bytes) and len(content) < COALESCE_LIMIT:
            run.append(content)
        else:
            pieces += (b"".join(run), content)
            run = []
        run.append(b"\r\n")
    run.append(f"--{boundary}--\r\n".encode("ascii"))
    pieces.append(b"".join(run))
    return pieces


def _file_items(files: object) -> Iterable[tuple[Any, Any]]:
    if isinstance(files, Mapping):
        return files.items()
    if isinstance(files, list | tuple) and all(
        isinstance(item, tuple | list) and len(item) == 2 for item in files
    ):
        return files
    raise InvalidBody("files= must be a dict or a list of (name, value) pairs")


def _file_part(name: object, value: object) -> tuple[bytes, _Piece]:
    """Render one ``files=`` entry: its part head and a body for its content."""
    field = field_name(name)
    where = f"files[{field!r}]"
    content_type: object = None
    headers: object = None
    if isinstance(value, tuple | list):
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
    has_type = bool(extra) and any(key.lower() == "content-type" for key in extra)
    if content_type is not None and not has_type:
        extra = {"Content-Type": _header_value(where, content_type), **extra}
    return _part_head(field, filename, extra), _file_content(where, fileobj)


def _file_content(where: str, fileobj: object) -> _Piece:
    if isinstance(fileobj, str | bytes | bytearray | memoryview):
        return _as_bytes(fileobj)
    if hasattr(fileobj, "read"):
        return FileBody(fileobj, what=where)
    raise InvalidBody(
        f"{where} must be a binary file-like, bytes or str, not {type(fileobj).__name__}"
    )


def _part_head(
    name: str, filename: str | None = None, headers: Mapping[str, str] | None = None
) -> bytes:
    """The part's header block, ending with the blank line; the delimiter goes before it."""
    head = f'Content-Disposition: form-data; name="{_quote(name)}"'
    if filename is not None:
        head += f'; filename="{_quote(filename)}"'
    for key, value in (headers or {}).items():
        head += f"\r\n{key}: {value}"
    return f"{head}\r\n\r\n".encode()


# A cam sends the same few field names with every frame; their heads are built once.
_field_head = functools.lru_cache(maxsize=256)(_part_head)


def _quote(text: str) -> str:
    """Escape a name for a quoted Content-Disposition parameter, as browsers do (HTML spec)."""
    # Three replace() calls beat one translate() several times over on short names.
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


def _as_bytes(value: str | bytes | bytearray | memoryview) -> bytes:
    if isinstance(value, bytes):
        return value
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def _total_length(pieces: list[_Piece]) -> int | None:
    """The exact body size, or None (send chunked) if any file's size is unknown."""
    total = 0
    for piece in pieces:
        size = len(piece) if isinstance(piece, bytes) else piece.content_length
        if size is None:
            return None
        total += size
    return total
