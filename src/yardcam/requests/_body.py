"""Request bodies: what ``data=``, ``files=`` and ``json=`` become before anything is sent.

The transport only sees the :class:`Body` protocol: a content type, a length (``None`` means
chunked), and the bytes as a sync or async iteration of blocks. Bodies never hold a file's
content in memory: file-likes are read in :data:`BLOCK_SIZE` blocks while they are sent, and in
asyncio those reads run in a worker thread so the event loop (the motion detector) never waits
on a disk. Everything is validated in :func:`encode_body`, so bad input fails before a request
is written.
"""

from __future__ import annotations

import asyncio
import io
import json as jsonlib
import os
import stat
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlencode

from yardcam.requests.exceptions import InvalidBody, InvalidJSONBody, UnrewindableBodyError

__all__ = [
    "BLOCK_SIZE",
    "AsyncIterableBody",
    "Body",
    "BytesBody",
    "FileBody",
    "IterableBody",
    "encode_body",
    "field_name",
    "form_fields",
]

# Large enough that a 200 KB camera frame is one read and big uploads cost few syscalls and
# thread hops; small enough that a body never pins more than a block or two.
BLOCK_SIZE = 256 * 1024

FORM_URLENCODED = "application/x-www-form-urlencoded"
JSON = "application/json"


@runtime_checkable
class Body(Protocol):
    """A request body the transport can send, and send again after :meth:`rewind`."""

    content_type: str | None  # None: the caller's Content-Type header, or none
    content_length: int | None  # None: Transfer-Encoding: chunked
    rewindable: bool

    def __iter__(self) -> Iterator[bytes]: ...
    def __aiter__(self) -> AsyncIterator[bytes]: ...
    def rewind(self) -> None: ...


class BytesBody:
    """A body already in memory; rewinding is free."""

    rewindable = True

    def __init__(self, content: bytes, content_type: str | None = None) -> None:
        self.content = content
        self.content_type = content_type
        self.content_length: int | None = len(content)

    def __iter__(self) -> Iterator[bytes]:
        if self.content:
            yield self.content

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self.content:
            yield self.content

    def rewind(self) -> None:
        """Nothing to do: the content never moves."""


class FileBody:
    """A binary file-like streamed in :data:`BLOCK_SIZE` reads, never loaded whole.

    Its length is known for regular files and seekable streams (size minus the position the
    caller left it at, which is where sending starts and where :meth:`rewind` returns to).
    """

    content_type: str | None = None

    def __init__(self, fileobj: Any, *, what: str = "data=") -> None:
        self._what = what
        self._file = fileobj
        self._check_readable_binary()
        self._start = _tell(fileobj)
        self.rewindable = self._start is not None
        self.content_length = _remaining_size(fileobj, self._start)
        # BytesIO lives in memory: reading it inline is cheaper than a thread hop. Anything
        # else (a disk file, a pipe, a socket wrapper) may block, so asyncio reads it off-loop.
        self.reads_off_loop = not isinstance(fileobj, io.BytesIO)
        self._left = self.content_length
        self._started = False

    def __iter__(self) -> Iterator[bytes]:
        self._begin()
        while block := self._read_block():
            yield block

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self._begin()
        while block := (
            await self._read_block_off_loop() if self.reads_off_loop else self._read_block()
        ):
            yield block

    async def _read_block_off_loop(self) -> bytes:
        read = asyncio.get_running_loop().run_in_executor(None, self._read_block)
        try:
            return await asyncio.shield(read)
        except asyncio.CancelledError:
            # A worker thread cannot be stopped mid-read. Wait for it, so that a retry's
            # rewind() never races it for the file position and resends shifted bytes.
            await asyncio.wait([read])
            raise

    @property
    def name(self) -> str:
        """The file as error messages name it: the argument it came from and its name."""
        name = getattr(self._file, "name", None)
        shown = repr(name) if isinstance(name, str) else f"<{type(self._file).__name__}>"
        return f"{self._what} file {shown}"

    def rewind(self) -> None:
        """Seek back to where the caller's file was when the request was built."""
        if self._start is None:
            raise UnrewindableBodyError(f"{self.name} is not seekable, so it cannot be sent again")
        self._file.seek(self._start)
        self._left = self.content_length
        self._started = False

    def _check_readable_binary(self) -> None:
        """Refuse, before sending, what would fail or corrupt the upload mid-way."""
        fileobj = self._file
        if not callable(getattr(fileobj, "read", None)):
            raise InvalidBody(f"{self.name} has no read() method")
        if getattr(fileobj, "closed", False):
            raise InvalidBody(f"{self.name} is closed")
        readable = getattr(fileobj, "readable", None)
        if callable(readable) and not readable():
            raise InvalidBody(f"{self.name} is not open for reading")
        if isinstance(fileobj, io.TextIOBase):
            raise InvalidBody(f"{self.name} is open in text mode; open it with 'rb'")
        try:
            # A zero-byte read consumes nothing and reveals text mode in any file-like.
            probe = fileobj.read(0)
        except (OSError, ValueError) as exc:
            raise InvalidBody(f"{self.name} cannot be read: {exc}") from exc
        if isinstance(probe, str):
            raise InvalidBody(f"{self.name} is open in text mode; open it with 'rb'")

    def _begin(self) -> None:
        # A second pass (retry, redirect) must resend from the start, never the tail.
        if self._started:
            self.rewind()
        self._started = True

    def _read_block(self) -> bytes:
        if self._left == 0:
            return b""
        block = self._file.read(BLOCK_SIZE)
        if not isinstance(block, bytes | bytearray | memoryview):
            raise InvalidBody(f"{self.name} returned {_kind(block)} from read(), not bytes")
        if not isinstance(block, bytes):
            block = bytes(block)
        if self._left is None:
            return block
        if not block:
            raise InvalidBody(f"{self.name} shrank while it was sent: {self._left} bytes missing")
        if len(block) > self._left:
            # The file grew after Content-Length was announced: send what was announced.
            block = block[: self._left]
        self._left -= len(block)
        return block


class IterableBody:
    """A generator or iterable of byte chunks, sent chunked; it can be iterated only once."""

    content_type: str | None = None
    content_length: int | None = None
    rewindable = False

    def __init__(self, chunks: Iterable[Any]) -> None:
        self._chunks = chunks
        self._started = False

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._source():
            if data := _chunk_bytes(chunk):
                yield data

    async def __aiter__(self) -> AsyncIterator[bytes]:
        # A generator may read a disk or a pipe; each step runs in a worker thread so it
        # cannot stall the loop. The sentinel stands in for StopIteration, which cannot
        # cross a future.
        chunks = iter(self._source())
        done = object()
        while (chunk := await asyncio.to_thread(next, chunks, done)) is not done:
            if data := _chunk_bytes(chunk):
                yield data

    def rewind(self) -> None:
        if self._started:
            raise UnrewindableBodyError(
                "a generator body was already consumed and cannot be resent"
            )

    def _source(self) -> Iterable[Any]:
        self.rewind()
        self._started = True
        return self._chunks


class AsyncIterableBody:
    """An async iterable of byte chunks, sent chunked; only AsyncSession can send it."""

    content_type: str | None = None
    content_length: int | None = None
    rewindable = False

    def __init__(self, chunks: AsyncIterable[Any]) -> None:
        self._chunks = chunks
        self._started = False

    def __iter__(self) -> Iterator[bytes]:
        # Raised on iter(), not on the first next(), so a sync sender fails before it writes.
        raise InvalidBody("an async iterable body can only be sent by AsyncSession, not Session")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.rewind()
        self._started = True
        async for chunk in self._chunks:
            if data := _chunk_bytes(chunk):
                yield data

    def rewind(self) -> None:
        if self._started:
            raise UnrewindableBodyError("an async iterable body was already consumed")


def encode_body(*, data: object = None, files: object = None, json: object = None) -> Body | None:
    """Turn ``requests``-style arguments into a :class:`Body`, or ``None`` for no body.

    ``data`` may be a mapping or list of pairs (a form), bytes or str (sent as is, str as
    UTF-8), a binary file-like, a generator/iterable of bytes, or an async iterable of bytes.
    ``files`` makes a multipart/form-data body with ``data`` as its plain fields. ``json`` is
    serialised compactly as UTF-8. Raises :class:`InvalidBody` for anything that cannot be sent.
    """
    if json is not None and (data is not None or files is not None):
        raise InvalidBody("pass json= alone: it cannot be combined with data= or files=")
    if isinstance(files, Mapping | list | tuple) and not files:
        files = None  # like requests: an empty files= is no files at all
    if files is not None:
        # The multipart encoder streams through FileBody, so it imports this module.
        from yardcam.requests._multipart import MultipartBody

        return MultipartBody(files, data)
    if json is not None:
        return BytesBody(_dump_json(json), JSON)
    if data is None:
        return None
    return _encode_data(data)


def form_fields(data: object) -> list[tuple[str, str | bytes]]:
    """Flatten form ``data`` (mapping or list of pairs) into ordered (name, value) pairs.

    A list or tuple value repeats the field; ``None`` values are skipped, like ``requests``.
    """
    if isinstance(data, Mapping):
        pairs: Iterable[Any] = data.items()
    elif isinstance(data, list | tuple):
        for pair in data:
            if not (isinstance(pair, tuple | list) and len(pair) == 2):
                raise InvalidBody(f"form fields must be (name, value) pairs, got {pair!r:.60}")
        pairs = data
    else:
        raise InvalidBody(f"form fields must be a dict or a list of pairs, not {_kind(data)}")
    fields: list[tuple[str, str | bytes]] = []
    for name, value in pairs:
        if type(name) is str and type(value) is str:  # the usual case, kept cheap per upload
            fields.append((name, value))
            continue
        name = field_name(name)
        values = value if isinstance(value, list | tuple) else (value,)
        fields.extend((name, _field_value(name, v)) for v in values if v is not None)
    return fields


def field_name(name: object) -> str:
    """A form or multipart field name as str (bytes are taken as UTF-8)."""
    if isinstance(name, bytes):
        return name.decode("utf-8")
    if isinstance(name, str):
        return name
    raise InvalidBody(f"a field name must be str, not {_kind(name)}")


def _encode_data(data: object) -> Body | None:
    if isinstance(data, str):
        return BytesBody(data.encode("utf-8"))
    if isinstance(data, bytes | bytearray | memoryview):
        return BytesBody(bytes(data))
    if isinstance(data, Mapping | list | tuple):
        fields = form_fields(data)
        if not fields:
            return None
        return BytesBody(urlencode(fields).encode("ascii"), FORM_URLENCODED)
    if hasattr(data, "read"):
        return FileBody(data)
    if isinstance(data, AsyncIterable):
        return AsyncIterableBody(data)
    if isinstance(data, Iterable):
        return IterableBody(data)
    raise InvalidBody(f"data= cannot be {_kind(data)}")


def _dump_json(value: object) -> bytes:
    try:
        # allow_nan=False: NaN and Infinity are not JSON and a strict server rejects them.
        text = jsonlib.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidJSONBody(f"json= value cannot be serialised: {exc}") from exc
    return text.encode("utf-8")


def _field_value(name: str, value: object) -> str | bytes:
    if isinstance(value, str | bytes):
        return value
    if isinstance(value, int | float):
        return str(value)
    raise InvalidBody(f"form field {name!r} must be str, bytes or a number, not {_kind(value)}")


def _chunk_bytes(chunk: object) -> bytes:
    if isinstance(chunk, bytes):
        return chunk
    if isinstance(chunk, bytearray | memoryview):
        return bytes(chunk)
    if isinstance(chunk, str):
        return chunk.encode("utf-8")
    raise InvalidBody(f"a streamed body must yield bytes, not {_kind(chunk)}")


def _tell(fileobj: Any) -> int | None:
    """The current position if the file can seek back to it, else None."""
    seekable = getattr(fileobj, "seekable", None)
    try:
        if callable(seekable) and not seekable():
            return None
        position = fileobj.tell()
    except (AttributeError, OSError, ValueError):
        return None
    return position if isinstance(position, int) else None


def _remaining_size(fileobj: Any, position: int | None) -> int | None:
    """Bytes left from ``position`` to the end, or None when not knowable without reading."""
    if position is None:
        # A stream that cannot seek may still know its length (a sized reader wrapping a
        # download, say); it is taken as what is left to read.
        length = len(fileobj) if hasattr(fileobj, "__len__") else None
        return length if isinstance(length, int) else None
    # BytesIO has no file descriptor (asking raises, which is slow); getbuffer() would copy
    # the caller's bytes, which BytesIO shares until written to, so it is measured by seeking.
    if not isinstance(fileobj, io.BytesIO):
        try:
            info = os.fstat(fileobj.fileno())
        except (AttributeError, OSError, ValueError):
            pass  # not a real file: io.UnsupportedOperation is an OSError
        else:
            if stat.S_ISREG(info.st_mode):
                return max(info.st_size - position, 0)
    try:
        end = fileobj.seek(0, io.SEEK_END)
        fileobj.seek(position)
    except (AttributeError, OSError, ValueError):
        return None
    return max(end - position, 0) if isinstance(end, int) else None


def _kind(value: object) -> str:
    return type(value).__name__
