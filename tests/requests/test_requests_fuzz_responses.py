"""Hostile servers: whatever comes back (malformed status lines and headers, bad chunk sizes,
truncated bodies, broken gzip, an answer that stops and never ends), the client returns a
Response or raises a clean ``OSError`` (every yardcam.requests error is one), never another
exception and never a hang past its timeout. Sync and async, through a raw socket server."""

from __future__ import annotations

import asyncio
import gzip
import socket
import time
import zlib
from collections.abc import Callable, Iterator

import pytest
from echo_servers import RawServer, raw_server, read_request_head
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yardcam import requests

#: (connect, read) for every request here; the read timeout is what a "hang" answer meets.
TIMEOUT = (2.0, 0.3)
#: Far beyond the timeout: a request still running by then is hung.
HANG = 10.0

STATUS_LINES = st.one_of(
    st.just(b"HTTP/1.1 200 OK"),  # a good head a third of the time, so bodies get read
    st.sampled_from(
        [
            b"HTTP/1.1 200",
            b"HTTP/1.0 404 Not Found",
            b"HTTP/1.1 302 Found",
            b"HTTP/1.1 999 Nine",
            b"HTTP/1.1 20 OK",
            b"HTTP/1.1 -1 OK",
            b"HTTP/1.1 abc OK",
            b"HTTP/2 200 OK",
            b"ICY 200 OK",
            b"HTTP/1.1 200 OK\x00\xff",
            b"",
        ]
    ),
    st.binary(max_size=40).filter(lambda b: b"\n" not in b),
)
FRAMING = st.sampled_from(
    [
        None,  # read to the close (or the hang)
        "exact",  # Content-Length of the body as sent
        b"Content-Length: 99999999999999999999999",
        b"Content-Length: 5, 6",
        b"Content-Length: -1",
        b"Content-Length: abc",
        b"Transfer-Encoding: chunked",
        b"Transfer-Encoding: gzip, chunked",
        b"Transfer-Encoding: chunked, identity",
    ]
)
ENCODING = st.sampled_from(
    [
        None,
        b"Content-Encoding: gzip",
        b"Content-Encoding: deflate",
        b"Content-Encoding: gzip, deflate",
        b"Content-Encoding: br",
        b"Content-Encoding: nonsense",
    ]
)
OTHER_HEADERS = st.lists(
    st.one_of(
        st.sampled_from(
            [
                b"Connection: close",
                b"Location: /again",
                b"Location: http://[::1",
                b"Set-Cookie: a=b; Domain=..; Max-Age=-5",
                b"Content-Type: text/plain; charset=no-such-codec",
                b" folded continuation",
                b"NoColonHere",
                b": no-name",
                b"X-Big: " + b"v" * 70_000,
            ]
        ),
        st.binary(max_size=30).filter(lambda b: b"\n" not in b),
    ),
    max_size=3,
)


def _chunked(parts: list[tuple[bytes, bytes]]) -> bytes:
    return b"".join(size + b"\r\n" + data + b"\r\n" for size, data in parts)


def _cut(data: bytes, at: int) -> bytes:
    return data[: at % (len(data) + 1)]


BODIES = st.one_of(
    st.binary(max_size=200),
    st.lists(
        st.tuples(
            st.sampled_from([b"0", b"5", b"ff", b"-1", b"zz", b"f" * 20, b"5;ext=1", b"", b" 5"]),
            st.binary(max_size=12),
        ),
        max_size=4,
    ).map(_chunked),
    st.tuples(st.binary(max_size=100), st.integers(0, 200)).map(
        lambda t: _cut(gzip.compress(t[0]), t[1])
    ),
    st.tuples(st.binary(max_size=100), st.integers(0, 200)).map(
        lambda t: _cut(zlib.compress(t[0]), t[1])
    ),
)


@st.composite
def answers(draw: st.DrawFn) -> tuple[bytes, list[bytes], bytes, str]:
    """(status line, header lines, body, "close" or "hang")."""
    body = draw(BODIES)
    framing = draw(FRAMING)
    headers = [h for h in (draw(ENCODING),) if h is not None] + draw(OTHER_HEADERS)
    if framing == "exact":
        headers.append(b"Content-Length: %d" % len(body))
    elif framing is not None:
        headers.append(framing)
    return draw(STATUS_LINES), headers, body, draw(st.sampled_from(["close", "hang"]))


class Script:
    """What the raw server answers next; one hypothesis example at a time."""

    answer: tuple[bytes, list[bytes], bytes, str] = (b"HTTP/1.1 204 No Content", [], b"", "close")

    def handle(self, conn: socket.socket, index: int) -> None:
        read_request_head(conn)
        status, headers, body, ending = self.answer
        conn.sendall(status + b"\r\n" + b"".join(h + b"\r\n" for h in headers) + b"\r\n" + body)
        if ending == "hang":  # never finish: wait for the client to give up
            conn.settimeout(HANG * 2)
            while conn.recv(65536):
                pass


@pytest.fixture
def hostile() -> Iterator[tuple[Script, RawServer]]:
    script = Script()
    with raw_server(script.handle) as server:
        yield script, server


def _check(call: Callable[[], object]) -> None:
    start = time.monotonic()
    try:
        response = call()
    except OSError:
        pass  # a clean failure: what the caller is promised
    else:
        assert isinstance(response, requests.Response)
        assert isinstance(response.content, bytes)
    assert time.monotonic() - start < HANG


_FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,  # CI runs the same examples every time; a failure replays as printed
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@_FUZZ
@given(answer=answers())
def test_any_answer_is_a_response_or_an_oserror(
    hostile: tuple[Script, RawServer], answer: tuple[bytes, list[bytes], bytes, str]
) -> None:
    script, server = hostile
    script.answer = answer
    _check(lambda: requests.get(server.url, timeout=TIMEOUT))


@settings(_FUZZ, max_examples=30)
@given(answer=answers())
def test_any_answer_is_a_response_or_an_oserror_async(
    hostile: tuple[Script, RawServer], answer: tuple[bytes, list[bytes], bytes, str]
) -> None:
    script, server = hostile
    script.answer = answer

    async def fetch() -> requests.Response:
        async with requests.AsyncSession(retries=0) as session:
            return await session.get(server.url, timeout=TIMEOUT)

    _check(lambda: asyncio.run(fetch()))
