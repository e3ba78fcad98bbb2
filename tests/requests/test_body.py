"""Request bodies from data=, json= and files=, checked without a network."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from echo_servers import EchoServer

from yardcam import requests
from yardcam.requests._body import (
    BLOCK_SIZE,
    AsyncIterableBody,
    Body,
    BytesBody,
    FileBody,
    IterableBody,
    encode_body,
)
from yardcam.requests.exceptions import InvalidBody, UnrewindableBodyError


async def collect(body: Body) -> bytes:
    return b"".join([chunk async for chunk in body])


def test_no_arguments_means_no_body() -> None:
    assert encode_body() is None
    assert encode_body(data={}) is None


def test_dict_becomes_a_urlencoded_form() -> None:
    body = encode_body(data={"cam": "yard", "note": "a b&c=é", "seq": 7, "tag": ["x", "y"]})
    assert isinstance(body, BytesBody)
    assert body.content_type == "application/x-www-form-urlencoded"
    raw = b"".join(body)
    assert body.content_length == len(raw)
    assert parse_qsl(raw.decode("ascii")) == [
        ("cam", "yard"),
        ("note", "a b&c=é"),
        ("seq", "7"),
        ("tag", "x"),
        ("tag", "y"),
    ]


def test_list_of_pairs_keeps_order_and_skips_none() -> None:
    body = encode_body(data=[("b", "2"), ("a", "1"), ("skip", None), ("b", "3")])
    assert body is not None
    assert b"".join(body) == b"b=2&a=1&b=3"


@pytest.mark.parametrize(
    ("data", "raw"),
    [(b"\x00\xffraw", b"\x00\xffraw"), ("héllo", "héllo".encode()), (bytearray(b"ab"), b"ab")],
)
def test_bytes_and_str_are_sent_as_is(data: object, raw: bytes) -> None:
    body = encode_body(data=data)
    assert isinstance(body, BytesBody)
    assert body.content_type is None
    assert body.content_length == len(raw)
    assert b"".join(body) == raw
    body.rewind()
    assert b"".join(body) == raw


def test_json_is_compact_utf8() -> None:
    body = encode_body(json={"cam": "jardín", "change": 12.5, "tags": [1, None]})
    assert body is not None
    assert body.content_type == "application/json"
    raw = b"".join(body)
    assert raw == '{"cam":"jardín","change":12.5,"tags":[1,null]}'.encode()
    assert json.loads(raw) == {"cam": "jardín", "change": 12.5, "tags": [1, None]}


@pytest.mark.parametrize("value", [float("nan"), {"when": object()}])
def test_json_that_is_not_json_is_refused(value: object) -> None:
    with pytest.raises(InvalidBody, match="json= value"):
        encode_body(json=value)


@pytest.mark.parametrize(
    "kwargs",
    [{"json": {}, "data": b"x"}, {"json": [], "files": {"f": b"x"}}],
)
def test_json_cannot_be_combined(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidBody, match="json= alone"):
        encode_body(**kwargs)


def test_real_file_streams_from_its_position(tmp_path: Path) -> None:
    path = tmp_path / "clip.bin"
    payload = os.urandom(BLOCK_SIZE * 2 + 123)
    path.write_bytes(payload)
    with path.open("rb") as f:
        f.seek(100)
        body = encode_body(data=f)
        assert isinstance(body, FileBody)
        assert body.content_length == len(payload) - 100
        assert body.rewindable
        blocks = list(body)
        assert [len(b) for b in blocks] == [BLOCK_SIZE, BLOCK_SIZE, 23]
        assert b"".join(blocks) == payload[100:]
        # A retry resends from where the caller left the file, not from byte 0.
        body.rewind()
        assert b"".join(body) == payload[100:]
        assert b"".join(body) == payload[100:]  # a second pass rewinds by itself


def test_bytesio_length_comes_from_seeking() -> None:
    buf = io.BytesIO(b"0123456789")
    buf.read(4)
    body = encode_body(data=buf)
    assert body is not None
    assert body.content_length == 6
    assert b"".join(body) == b"456789"


def test_pipe_has_no_length_and_cannot_rewind() -> None:
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd, "rb") as reader, os.fdopen(write_fd, "wb") as writer:
        writer.write(b"streamed")
        writer.close()
        body = encode_body(data=reader)
        assert body is not None
        assert body.content_length is None
        assert not body.rewindable
        assert b"".join(body) == b"streamed"
        with pytest.raises(UnrewindableBodyError):
            body.rewind()


def test_unseekable_sized_reader_uses_its_len() -> None:
    class SizedReader:
        """Reads a fixed payload once, cannot seek, knows its length (a download wrapper)."""

        def __init__(self, data: bytes) -> None:
            self._data = data

        def __len__(self) -> int:
            return len(self._data)

        def read(self, size: int = -1) -> bytes:
            block, self._data = self._data[:size], self._data[size:]
            return block

    body = encode_body(data=SizedReader(b"x" * 70_000))
    assert body is not None
    assert body.content_length == 70_000
    assert not body.rewindable
    assert b"".join(body) == b"x" * 70_000


def test_file_that_shrinks_mid_upload_fails_clearly(tmp_path: Path) -> None:
    path = tmp_path / "shrinks.bin"
    path.write_bytes(b"x" * (BLOCK_SIZE + 10))
    with path.open("rb") as f:
        body = encode_body(data=f)
        assert body is not None
        blocks = iter(body)
        next(blocks)
        os.truncate(path, BLOCK_SIZE)
        with pytest.raises(InvalidBody, match="shrank while it was sent: 10 bytes missing"):
            next(blocks)


def test_file_that_grows_sends_only_the_announced_length(tmp_path: Path) -> None:
    path = tmp_path / "grows.bin"
    path.write_bytes(b"a" * 1000)
    with path.open("rb") as f:
        body = encode_body(data=f)
        assert body is not None
        with path.open("ab") as appender:
            appender.write(b"b" * 1000)
        assert b"".join(body) == b"a" * 1000


def test_generator_is_chunked_and_single_use() -> None:
    def chunks() -> Iterator[object]:
        yield b"one,"
        yield b""
        yield "two,"
        yield memoryview(b"three")

    body = encode_body(data=chunks())
    assert isinstance(body, IterableBody)
    assert body.content_length is None
    assert not body.rewindable
    body.rewind()  # nothing consumed yet: fine
    assert list(body) == [b"one,", b"two,", b"three"]
    with pytest.raises(UnrewindableBodyError):
        body.rewind()
    with pytest.raises(UnrewindableBodyError):
        list(body)


def test_generator_yielding_non_bytes_is_refused() -> None:
    body = encode_body(data=iter([b"ok", 42]))
    assert body is not None
    with pytest.raises(InvalidBody, match="must yield bytes, not int"):
        list(body)


async def test_generator_steps_run_off_the_event_loop() -> None:
    loop_thread = threading.get_ident()
    threads: list[int] = []

    def chunks() -> Iterator[bytes]:
        for part in (b"a", b"b"):
            threads.append(threading.get_ident())
            yield part

    body = encode_body(data=chunks())
    assert body is not None
    assert await collect(body) == b"ab"
    assert threads and loop_thread not in threads


async def test_async_iterable_streams_in_async_only() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"frame-"
        await asyncio.sleep(0)
        yield b"data"

    body = encode_body(data=chunks())
    assert isinstance(body, AsyncIterableBody)
    assert body.content_length is None
    with pytest.raises(InvalidBody, match="only be sent by AsyncSession"):
        iter(body)
    assert await collect(body) == b"frame-data"
    with pytest.raises(UnrewindableBodyError):
        body.rewind()


async def test_real_file_is_read_off_loop_and_bytesio_inline(tmp_path: Path) -> None:
    loop_thread = threading.get_ident()
    threads: list[int] = []

    class TracedFile(io.FileIO):
        def read(self, size: int = -1) -> bytes:
            threads.append(threading.get_ident())
            return super().read(size)

    class TracedBytes(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            threads.append(threading.get_ident())
            return super().read(size)

    path = tmp_path / "frame.bin"
    path.write_bytes(b"z" * (BLOCK_SIZE * 3))
    with TracedFile(path, "rb") as f:
        body = encode_body(data=f)
        assert body is not None
        threads.clear()  # the eager read(0) validation ran on the caller's thread
        assert await collect(body) == path.read_bytes()
    assert len(threads) == 3
    assert loop_thread not in threads

    threads.clear()
    body = encode_body(data=TracedBytes(b"in memory"))
    assert body is not None
    threads.clear()
    assert await collect(body) == b"in memory"
    assert threads == [loop_thread]


async def test_a_cancelled_upload_waits_for_its_read_before_a_rewind() -> None:
    in_read, release = threading.Event(), threading.Event()

    class SlowDisk:
        """A seekable file-like whose reads block like a stalled disk."""

        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)
            self.seek, self.tell = self._data.seek, self._data.tell

        def read(self, size: int = -1) -> bytes:
            if size:  # the eager read(0) check must not block
                in_read.set()
                release.wait(10)
            return self._data.read(size)

    body = FileBody(SlowDisk(b"frame" * 1000))
    assert body.reads_off_loop
    blocks = aiter(body)
    reading = asyncio.create_task(anext(blocks))
    await asyncio.to_thread(in_read.wait, 10)
    reading.cancel()
    for _ in range(5):
        await asyncio.sleep(0)  # let the cancellation be delivered
    assert not reading.done()  # still waiting for the worker's read to finish
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await reading
    body.rewind()
    assert b"".join(body) == b"frame" * 1000


def test_every_body_satisfies_the_protocol(tmp_path: Path) -> None:
    async def agen() -> AsyncIterator[bytes]:
        yield b""

    for kwargs in (
        {"data": b"x"},
        {"data": io.BytesIO(b"x")},
        {"data": iter([b"x"])},
        {"data": agen()},
        {"json": 1},
        {"files": {"f": b"x"}},
    ):
        assert isinstance(encode_body(**kwargs), Body)


class WriteOnly:
    def read(self, size: int = -1) -> bytes:
        raise OSError("not readable")

    def readable(self) -> bool:
        return False


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (42, "data= cannot be int"),
        ({"a": {"nested": 1}}, "must be str, bytes or a number, not dict"),
        ({1: "x"}, "field name must be str"),
        ([("a", "1", "extra")], r"\(name, value\) pairs"),
        (WriteOnly(), "not open for reading"),
    ],
)
def test_bad_data_is_refused_before_sending(data: object, reason: str) -> None:
    with pytest.raises(InvalidBody, match=reason):
        encode_body(data=data)


def test_closed_text_and_write_only_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_text("hello")
    with path.open() as text, pytest.raises(InvalidBody, match="text mode"):
        encode_body(data=text)
    with path.open("ab") as write_only, pytest.raises(InvalidBody, match="not open for reading"):
        encode_body(data=write_only)
    closed = path.open("rb")
    closed.close()
    with pytest.raises(InvalidBody, match="is closed"):
        encode_body(data=closed)


def test_text_mode_file_like_without_textiobase_is_refused() -> None:
    class TextLike:
        def read(self, size: int = -1) -> str:
            return ""

    with pytest.raises(InvalidBody, match="text mode"):
        encode_body(data=TextLike())


def test_body_errors_are_oserrors_and_value_errors() -> None:
    with pytest.raises(OSError) as caught:
        encode_body(data=object())
    assert isinstance(caught.value, ValueError)


# -- through the client, against the real echo server ---------------------------------------


def echoed(response: requests.Response) -> tuple[dict[str, str], int, str]:
    got = response.json()
    return {k: v for k, v in got["headers"]}, got["body_size"], got["body_sha256"]


async def test_async_session_streams_every_body_kind(
    echo_server: EchoServer, tmp_path: Path
) -> None:
    clip = tmp_path / "clip.bin"
    clip.write_bytes(os.urandom(2 * BLOCK_SIZE + 5))
    payload = clip.read_bytes()

    def blocks() -> Iterator[bytes]:
        yield payload[:1000]
        yield payload[1000:]

    async def ablocks() -> AsyncIterator[bytes]:
        yield payload[:7]
        yield payload[7:]

    url = echo_server.url + "/echo"
    async with requests.AsyncSession() as session:
        with clip.open("rb") as f:
            by_file = echoed(await session.put(url, data=f))
        by_generator = echoed(await session.put(url, data=blocks()))
        by_async = echoed(await session.put(url, data=ablocks()))
        by_json = echoed(await session.post(url, json={"cam": "jardín"}))

    digest = hashlib.sha256(payload).hexdigest()
    assert by_file[0]["content-length"] == str(len(payload))
    assert by_file[1:] == (len(payload), digest)
    for headers, size, sha in (by_generator, by_async):
        assert headers["transfer-encoding"] == "chunked" and "content-length" not in headers
        assert (size, sha) == (len(payload), digest)
    raw_json = '{"cam":"jardín"}'.encode()
    assert by_json[0]["content-type"] == "application/json"
    assert by_json[1:] == (len(raw_json), hashlib.sha256(raw_json).hexdigest())


def test_sync_session_refuses_an_async_body_before_sending(echo_server: EchoServer) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"never sent"

    with requests.Session() as session:
        with pytest.raises(InvalidBody, match="AsyncSession"):
            session.post(echo_server.url + "/echo?tag=async-body-in-sync", data=chunks())
        assert echo_server.state.ports("async-body-in-sync") == set()
        # The session is still usable: the failed request left no half-written connection.
        assert session.post(echo_server.url + "/echo", data=b"ok").json()["body_size"] == 2


def test_generator_cannot_follow_a_307(echo_server: EchoServer) -> None:
    with pytest.raises(UnrewindableBodyError):
        requests.post(echo_server.url + "/redirect/307?to=/echo", data=iter([b"once"]))
