"""``requests.models``: a request as the caller builds it, as it will be sent, and the response as
received (sync and async share one class).

A :class:`Response` reads its body through a raw stream the transport provides: an iterator for
:class:`Session`, an async iterator for :class:`AsyncSession`. Everything else (decoding,
re-chunking, lines, text, JSON) is shared.
"""

from __future__ import annotations

import codecs
import contextlib
import datetime
import json as jsonlib
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from yardcam.requests._decoders import Decoder, make_decoder
from yardcam.requests._headers import Headers
from yardcam.requests.cookies import RequestsCookieJar
from yardcam.requests.exceptions import (
    HTTPError,
    InvalidRequest,
    JSONDecodeError,
    StreamConsumedError,
)

if TYPE_CHECKING:
    from yardcam.requests._body import Body
    from yardcam.requests._urls import URL

__all__ = ["PreparedRequest", "Request", "Response"]


class Request:
    """A request as the caller describes it, before any session setting is applied; as in
    requests, ``Session.prepare_request(request)`` (session headers, cookies and auth merged)
    or ``request.prepare()`` (none) turns it into a :class:`PreparedRequest` for ``send``.

    >>> Request("GET", "http://cam.lan/status", params={"v": "1"}).prepare()
    <PreparedRequest [GET] http://cam.lan/status?v=1>
    """

    def __init__(
        self,
        method: str | None = None,
        url: str | None = None,
        headers: Mapping[str, str] | None = None,
        files: object = None,
        data: object = None,
        params: object = None,
        auth: object = None,
        cookies: Mapping[str, str] | None = None,
        json: object = None,
    ) -> None:
        self.method, self.url = method, url
        self.headers = dict(headers or {})
        self.files, self.data, self.json, self.params = files, data, json, params
        self.auth, self.cookies = auth, cookies

    def prepare(self) -> PreparedRequest:
        """The request with only its own settings (and the client's default headers)."""
        from yardcam.requests._client import BaseSession  # the one preparation, not a copy

        return BaseSession().prepare_request(self)

    def __repr__(self) -> str:
        return f"<Request [{self.method}]>"


class PreparedRequest:
    """A request ready for the wire; auth callables edit it (``request.headers[...] = ...``)."""

    __slots__ = ("_url", "body", "cookies", "headers", "method")

    def __init__(
        self,
        method: str,
        url: URL,
        headers: Headers,
        body: Body | None,
        cookies: dict[str, str] | None = None,
    ) -> None:
        self.method = method
        self._url = url
        self.headers = headers
        self.body = body
        #: Per-request ``cookies=``; re-sent on every redirect hop along with the jar's cookies.
        self.cookies = cookies

    @property
    def url(self) -> str:
        return self._url.url

    @property
    def target(self) -> str:
        return self._url.target

    @property
    def parsed_url(self) -> URL:
        return self._url

    def rewind_body(self) -> None:
        """Back to the body's start before it is sent again (raises UnrewindableBodyError)."""
        if self.body is not None:
            self.body.rewind()

    def __repr__(self) -> str:
        return f"<PreparedRequest [{self.method}] {self.url}>"


class RawStream(Protocol):
    """The undecoded body of a :class:`Session` response, block by block."""

    def __iter__(self) -> Iterator[bytes]: ...
    def drain(self) -> None: ...
    def close(self) -> None: ...


class AsyncRawStream(Protocol):
    """The undecoded body of an :class:`AsyncSession` response."""

    def __aiter__(self) -> AsyncIterator[bytes]: ...
    async def adrain(self) -> None: ...
    def close(self) -> None: ...
    async def aclose(self) -> None: ...


class Response:
    """What the server answered. Without ``stream=True`` the body is already in ``content``."""

    def __init__(
        self,
        *,
        status_code: int,
        reason: str,
        raw_headers: list[tuple[bytes, bytes]],
        request: PreparedRequest,
        elapsed: datetime.timedelta,
        stream: RawStream | AsyncRawStream | None,
    ) -> None:
        self.status_code = status_code
        self.reason = reason
        self.raw_headers = raw_headers
        self.headers = Headers.from_raw(raw_headers)
        self.request = request
        self.url = request.url
        self.elapsed = elapsed
        self.history: list[Response] = []
        self._encoding: str | None = None
        self._content: bytes | None = None if stream is not None else b""
        self._stream = stream
        self._consumed = False
        self._decoder: Decoder | None = None
        self._cookies: RequestsCookieJar | None = None

    # -- status --------------------------------------------------------------------------
    @property
    def ok(self) -> bool:
        return self.status_code < 400

    @property
    def is_redirect(self) -> bool:
        return "location" in self.headers and self.status_code in (301, 302, 303, 307, 308)

    def raise_for_status(self) -> None:
        """Raise :class:`HTTPError` for a 4xx or 5xx status."""
        if 400 <= self.status_code < 600:
            kind = "Client" if self.status_code < 500 else "Server"
            raise HTTPError(
                f"{self.status_code} {kind} Error: {self.reason} for url: {self.url}",
                response=self,
            )

    # -- body, already read --------------------------------------------------------------
    @property
    def content(self) -> bytes:
        """The whole decoded body (reads the rest of a sync stream first)."""
        if self._content is None:
            self._content = b"".join(self.iter_content(None))
        return self._content

    @property
    def encoding(self) -> str | None:
        """The charset of ``text``: the Content-Type charset unless set by hand."""
        if self._encoding is None:
            self._encoding = _charset(self.headers.get("content-type"))
        return self._encoding

    @encoding.setter
    def encoding(self, value: str | None) -> None:
        self._encoding = value

    @property
    def text(self) -> str:
        return self.content.decode(self.encoding or "utf-8", errors="replace")

    def json(self, **kwargs: Any) -> Any:
        """The body parsed as JSON (UTF-8/16/32 detected, RFC 8259); ``kwargs`` go to
        ``json.loads``. A body that is not JSON raises :class:`JSONDecodeError`, which is both a
        ``ValueError`` and a ``RequestException``, as in requests."""
        try:
            return jsonlib.loads(self.content, **kwargs)
        except jsonlib.JSONDecodeError as exc:
            raise JSONDecodeError(exc.msg, exc.doc, exc.pos, response=self) from exc
        except UnicodeDecodeError as exc:  # bytes that are no UTF text at all
            doc = self.content.decode("latin-1")
            raise JSONDecodeError(f"not UTF-8/16/32 text: {exc.reason}", doc, exc.start) from exc

    @property
    def cookies(self) -> RequestsCookieJar:
        """The cookies this response sets, as far as the cookie policy lets the request's host
        set them (a jar like ``Session.cookies``, which keeps them too)."""
        if self._cookies is None:
            self._cookies = RequestsCookieJar()
            self._cookies.extract(self.request.parsed_url, self._set_cookie_values())
        return self._cookies

    def _set_cookie_values(self) -> list[str]:
        """The raw values of every ``Set-Cookie`` header (they cannot be joined with commas)."""
        return [v.decode("latin-1") for n, v in self.raw_headers if n.lower() == b"set-cookie"]

    # -- body, streamed (sync) -----------------------------------------------------------
    def iter_content(
        self, chunk_size: int | None = None, decode_unicode: bool = False
    ) -> Iterator[Any]:
        """Decoded body in ``chunk_size`` pieces; None yields blocks as they arrive.

        (CPython requests defaults to 1-byte chunks; yardcam defaults to "as they arrive".)
        With ``decode_unicode`` the pieces are str, decoded with :attr:`encoding`.
        """
        chunker = _Rechunker(chunk_size)
        pieces = self._iter_pieces(chunker)
        yield from self._as_text(pieces) if decode_unicode else pieces

    def _iter_pieces(self, chunker: _Rechunker | _LineSplitter) -> Iterator[bytes]:
        for block in self._iter_decoded():
            yield from chunker.feed(block)
        yield from chunker.flush()

    def _as_text(self, pieces: Iterator[bytes]) -> Iterator[str]:
        decoder = codecs.getincrementaldecoder(self.encoding or "utf-8")(errors="replace")
        for piece in pieces:
            if text := decoder.decode(piece):
                yield text
        if tail := decoder.decode(b"", final=True):
            yield tail

    def iter_lines(
        self, chunk_size: int | None = None, decode_unicode: bool = False
    ) -> Iterator[Any]:
        """The decoded body split into lines (without line endings); str with decode_unicode."""
        lines = self._iter_pieces(_LineSplitter())
        if decode_unicode:
            encoding = self.encoding or "utf-8"
            yield from (line.decode(encoding, errors="replace") for line in lines)
        else:
            yield from lines

    def __iter__(self) -> Iterator[bytes]:
        return self.iter_content(128)

    def _iter_decoded(self) -> Iterator[bytes]:
        if self._content is not None:
            yield self._content
            return
        stream = self._start_streaming(use_async=False)
        for raw in stream:  # type: ignore[union-attr]
            data = self._decoder.decode(raw)  # type: ignore[union-attr]
            if data:
                yield data
        tail = self._decoder.flush()  # type: ignore[union-attr]
        if tail:
            yield tail

    def close(self) -> None:
        """Release the connection: back to the pool if the body was read, closed otherwise."""
        if self._stream is not None:
            self._stream.close()

    def _discard(self) -> None:
        """Drop an unwanted body (redirect, retried status), keeping the connection if cheap."""
        if self._stream is not None and not isinstance(self._stream, AsyncStreamBase):
            self._stream.drain()  # type: ignore[union-attr]
        self._consumed = True

    def __enter__(self) -> Response:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- body, streamed (async) ----------------------------------------------------------
    async def aread(self) -> bytes:
        """Read (and keep) the whole decoded body of an async response."""
        if self._content is None:
            self._content = b"".join([block async for block in self._aiter_decoded()])
        return self._content

    async def aiter_content(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        chunker = _Rechunker(chunk_size)
        async with contextlib.aclosing(self._aiter_decoded()) as blocks:
            async for block in blocks:
                for piece in chunker.feed(block):
                    yield piece
        for piece in chunker.flush():
            yield piece

    async def aiter_lines(self) -> AsyncIterator[bytes]:
        splitter = _LineSplitter()
        async with contextlib.aclosing(self._aiter_decoded()) as blocks:
            async for block in blocks:
                for line in splitter.feed(block):
                    yield line
        for line in splitter.flush():
            yield line

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self.aiter_content()

    async def _aiter_decoded(self) -> AsyncGenerator[bytes, None]:
        if self._content is not None:
            yield self._content
            return
        stream = self._start_streaming(use_async=True)
        try:
            async for raw in stream:  # type: ignore[union-attr]
                data = self._decoder.decode(raw)  # type: ignore[union-attr]
                if data:
                    yield data
        except BaseException:
            # Cancelled, failed or abandoned mid-body (GeneratorExit, when a task cancelled
            # between two chunks drops its iterator): the raw stream's generator would see it
            # only when the garbage collector finalises it, so drop the connection now.
            stream.close()
            raise
        tail = self._decoder.flush()  # type: ignore[union-attr]
        if tail:
            yield tail

    async def aclose(self) -> None:
        if isinstance(self._stream, AsyncStreamBase):
            await self._stream.aclose()
        else:
            self.close()

    async def _adiscard(self) -> None:
        if isinstance(self._stream, AsyncStreamBase):
            await self._stream.adrain()
        self._consumed = True

    async def __aenter__(self) -> Response:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- shared ----------------------------------------------------------------------------
    def _start_streaming(self, *, use_async: bool) -> RawStream | AsyncRawStream:
        if isinstance(self._stream, AsyncStreamBase) is not use_async:
            api = "aread()/aiter_content()" if not use_async else "content/iter_content()"
            raise InvalidRequest(f"this response's body is read with {api}")
        if self._consumed or self._stream is None:
            raise StreamConsumedError("the response body was already consumed")
        self._consumed = True
        self._decoder = make_decoder(self.headers.get("content-encoding"))
        return self._stream

    def __repr__(self) -> str:
        return f"<Response [{self.status_code}]>"


class AsyncStreamBase:
    """Base of async raw streams, so a Response can tell which API its body needs."""

    __slots__ = ()


class _Rechunker:
    """Re-cuts arbitrary blocks into ``size``-byte pieces (the last may be shorter)."""

    __slots__ = ("_buffer", "_size")

    def __init__(self, size: int | None) -> None:
        if size is not None and (not isinstance(size, int) or size <= 0):
            raise InvalidRequest(f"chunk_size must be a positive int or None, got {size!r}")
        self._size = size
        self._buffer = bytearray()

    def feed(self, block: bytes) -> list[bytes]:
        size = self._size
        if size is None:
            return [block]
        if not self._buffer and len(block) == size:
            return [block]
        self._buffer += block
        if len(self._buffer) < size:
            return []
        cut = len(self._buffer) - len(self._buffer) % size
        data = bytes(self._buffer[:cut])
        del self._buffer[:cut]
        return [data[i : i + size] for i in range(0, cut, size)]

    def flush(self) -> list[bytes]:
        if not self._buffer:
            return []
        data = bytes(self._buffer)
        self._buffer.clear()
        return [data]


class _LineSplitter:
    """Splits blocks into lines on \\n, \\r\\n or \\r, across block boundaries."""

    __slots__ = ("_pending",)

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, block: bytes) -> list[bytes]:
        data = self._pending + block
        lines = data.splitlines(keepends=True)
        # The last piece may be incomplete, and a trailing \r may be half of a \r\n.
        if lines and (not lines[-1].endswith((b"\n", b"\r")) or lines[-1].endswith(b"\r")):
            self._pending = lines.pop()
        else:
            self._pending = b""
        return [line.rstrip(b"\r\n") for line in lines]

    def flush(self) -> list[bytes]:
        pending, self._pending = self._pending, b""
        return [pending.rstrip(b"\r\n")] if pending else []


def _charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip("\"'") or None
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        return "utf-8"
    return None
