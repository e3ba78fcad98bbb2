"""Every failure is an OSError of the right class, with errno where one applies."""

from __future__ import annotations

import errno
import socket

import pytest
from echo_servers import EchoServer, raw_server, read_request_head

from yardcam import requests


def test_refused_port_is_connection_error(refused_port: int) -> None:
    with pytest.raises(requests.ConnectionError) as info:
        requests.get(f"http://127.0.0.1:{refused_port}/")
    assert isinstance(info.value, OSError)
    assert info.value.errno == errno.ECONNREFUSED
    assert info.value.connect_failed
    assert isinstance(info.value.__cause__, ConnectionRefusedError)


def test_silent_server_times_out_with_etimedout(silent_port: int) -> None:
    with pytest.raises(OSError) as info:
        requests.get(f"http://127.0.0.1:{silent_port}/", timeout=0.3)
    assert isinstance(info.value, requests.ReadTimeout)
    assert info.value.errno == errno.ETIMEDOUT
    assert not isinstance(info.value, requests.ConnectionError)


def test_read_timeout_from_tuple(echo_server: EchoServer) -> None:
    with pytest.raises(requests.ReadTimeout):
        requests.get(echo_server.url + "/slow?delay=1", timeout=(5, 0.1))


def test_connect_timeout(full_backlog_port: int) -> None:
    with pytest.raises(requests.ConnectTimeout) as info:
        requests.get(f"http://127.0.0.1:{full_backlog_port}/", timeout=(0.3, 5))
    assert info.value.errno == errno.ETIMEDOUT
    assert isinstance(info.value, requests.ConnectionError | requests.Timeout)


def test_server_closing_without_answer_is_connection_error() -> None:
    def hang_up(conn: socket.socket, index: int) -> None:
        read_request_head(conn)

    with raw_server(hang_up) as server, pytest.raises(requests.ConnectionError) as info:
        requests.get(server.url)
    assert "without" in str(info.value) or "closed" in str(info.value)


def test_truncated_body_is_chunked_encoding_error() -> None:
    def truncate(conn: socket.socket, index: int) -> None:
        read_request_head(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part")

    with raw_server(truncate) as server, pytest.raises(requests.ChunkedEncodingError):
        requests.get(server.url)


def test_garbage_response_is_connection_error() -> None:
    def garbage(conn: socket.socket, index: int) -> None:
        read_request_head(conn)
        conn.sendall(b"SSH-2.0-OpenSSH\r\n\r\n")

    with raw_server(garbage) as server, pytest.raises(requests.ConnectionError):
        requests.get(server.url)


def test_bad_gzip_is_content_decoding_error() -> None:
    def bad(conn: socket.socket, index: int) -> None:
        read_request_head(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 5\r\n\r\nnotgz")

    with raw_server(bad) as server, pytest.raises(requests.ContentDecodingError):
        requests.get(server.url)


def test_invalid_timeouts_are_misuse() -> None:
    for bad in (-1, 0, "5", (1, 2, 3), True):
        with pytest.raises(requests.InvalidRequest):
            requests.get("http://127.0.0.1:1/", timeout=bad)


def test_uvicorn_rejecting_an_upload_unread_gives_the_status(echo_server: EchoServer) -> None:
    with requests.Session() as s:
        for _ in range(2):
            r = s.post(echo_server.url + "/reject", data=b"x" * 30_000_000)
            assert r.status_code == 413 and r.json() == {"error": "too large"}


def test_early_response_beats_broken_pipe() -> None:
    """A server that answers 413 and closes mid-upload: the caller gets the 413."""

    def reject(conn: socket.socket, index: int) -> None:
        read_request_head(conn)
        conn.sendall(
            b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 9\r\n"
            b"Connection: close\r\n\r\ntoo large"
        )
        conn.shutdown(socket.SHUT_WR)
        # Closing with unread data makes the kernel reset the connection: the client's send fails.

    with raw_server(reject) as server:
        r = requests.post(server.url, data=b"x" * 20_000_000)
    assert r.status_code == 413 and r.text == "too large"
