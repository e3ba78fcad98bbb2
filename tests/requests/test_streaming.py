"""Streaming responses and chunked transfer in both directions."""

from __future__ import annotations

import hashlib
import socket

import pytest
from echo_servers import EchoServer, payload, raw_server, read_request_head

from yardcam import requests
from yardcam.requests.models import _LineSplitter, _Rechunker


def test_chunked_response_is_reassembled(echo_server: EchoServer) -> None:
    r = requests.get(echo_server.url + "/chunked/123457")
    assert "content-length" not in r.headers
    assert r.headers["transfer-encoding"] == "chunked"
    assert r.content == payload(123_457)


def test_stream_true_reads_on_demand(echo_server: EchoServer) -> None:
    with requests.Session() as s:
        r = s.get(echo_server.url + "/bytes/1000000?tag=stream", stream=True)
        pieces = list(r.iter_content(65536))
        assert all(len(p) == 65536 for p in pieces[:-1]) and len(pieces) == 16
        assert b"".join(pieces) == payload(1_000_000)
        with pytest.raises(requests.StreamConsumedError):
            next(r.iter_content())
        # A fully read stream gives its connection back to the pool.
        s.get(echo_server.url + "/echo?tag=stream")
    assert len(echo_server.state.ports("stream")) == 1


def test_content_after_stream_true(echo_server: EchoServer) -> None:
    r = requests.get(echo_server.url + "/chunked/5000", stream=True)
    assert r.content == payload(5000) and r.content == payload(5000)  # kept once read
    assert b"".join(r.iter_content(100)) == payload(5000)


def test_closing_a_half_read_stream_drops_its_connection(echo_server: EchoServer) -> None:
    with requests.Session() as s:
        with s.get(echo_server.url + "/bytes/2000000?tag=half", stream=True) as r:
            first = next(r.iter_content(1000))
            assert first == payload(1000)
        s.get(echo_server.url + "/echo?tag=half")
    assert len(echo_server.state.ports("half")) == 2  # the half-read one was not reused


def test_iter_lines(echo_server: EchoServer) -> None:
    r = requests.get(echo_server.url + "/lines/5", stream=True)
    assert list(r.iter_lines()) == [f"line {i}".encode() for i in range(5)]
    r = requests.get(echo_server.url + "/lines/3")
    assert list(r.iter_lines(decode_unicode=True)) == ["line 0", "line 1", "line 2"]


def test_decode_unicode_across_chunk_boundaries() -> None:
    text = "caf\u00e9 \u00fcber \u2603 " * 100
    body = text.encode()

    def serve_text(conn: socket.socket, index: int) -> None:
        read_request_head(conn)
        head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
        conn.sendall(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)

    with raw_server(serve_text) as server:
        r = requests.get(server.url, stream=True)
        pieces = list(r.iter_content(3, decode_unicode=True))  # splits multi-byte characters
    assert all(isinstance(p, str) for p in pieces)
    assert "".join(pieces) == text


def test_upload_chunked_with_a_generator(echo_server: EchoServer) -> None:
    blocks = [payload(100_000), b"", b"tail"]
    r = requests.put(echo_server.url + "/echo", data=iter(blocks))
    assert r.json()["body_sha256"] == hashlib.sha256(b"".join(blocks)).hexdigest()
    assert ["transfer-encoding", "chunked"] in r.json()["headers"]


def test_rechunker_and_line_splitter() -> None:
    chunker = _Rechunker(4)
    assert chunker.feed(b"ab") == [] and chunker.feed(b"cdefghij") == [b"abcd", b"efgh"]
    assert chunker.flush() == [b"ij"] and chunker.flush() == []
    assert _Rechunker(None).feed(b"xyz") == [b"xyz"]
    with pytest.raises(requests.InvalidRequest):
        _Rechunker(0)
    lines = _LineSplitter()
    assert lines.feed(b"a\r") == [] and lines.feed(b"\nb\nc") == [b"a", b"b"]
    assert lines.feed(b"\rd") == [b"c"] and lines.flush() == [b"d"]
