"""yardcam.web.Server: request-head and request-body timeouts, connection bound, streams ended
at stop, and accept() failures logged once per interval (the slowloris at the open-file limit is
in test_web_slowloris.py)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import logging
import socket
import ssl
import threading
import time
from collections.abc import AsyncIterator, Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Route

from serving import TLSFiles
from yardcam.web import Server, ServingLimits
from yardcam.web._serving import _accept_errors_throttled

#: How long a client waits for the server before the test calls it a hang.
CLIENT_TIMEOUT = 10.0


async def _hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello")


async def _forever(request: Request) -> StreamingResponse:
    async def ticks() -> AsyncIterator[bytes]:
        while True:
            yield b"tick\n"
            await asyncio.sleep(0.05)

    return StreamingResponse(ticks(), media_type="text/plain")


async def _size(request: Request) -> PlainTextResponse:
    if request.query_params.get("read_after"):  # an app busy elsewhere before it reads
        await asyncio.sleep(float(request.query_params["read_after"]))
    try:
        return PlainTextResponse(str(len(await request.body())))
    except ClientDisconnect:  # cut off by the body timeout: nobody to answer
        return PlainTextResponse("gone", 400)


APP = Starlette(
    routes=[Route("/", _hello), Route("/stream", _forever), Route("/size", _size, methods=["POST"])]
)


@contextlib.contextmanager
def running(limits: ServingLimits, tls: TLSFiles | None = None) -> Iterator[tuple[Server, int]]:
    """The app served by yardcam.web.Server on 127.0.0.1, port 0, in a thread."""
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    pem = None if tls is None else (tls.cert_pem, tls.key_pem)
    server = Server(APP, name="test", tls=pem, limits=limits, handle_signals=False)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    try:
        yield server, port
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        assert not thread.is_alive(), "server did not stop"
        gc.unfreeze()  # the server froze the heap, this whole test process: give it back


def test_what_start_up_built_is_frozen_out_of_full_collections() -> None:
    gc.unfreeze()
    with running(ServingLimits()) as (_, port):
        assert gc.get_freeze_count() > 0
        assert _get(port).endswith(b"hello")


def _connect(port: int) -> socket.socket:
    conn = socket.create_connection(("127.0.0.1", port), timeout=CLIENT_TIMEOUT)
    return conn


def _read_all(conn: socket.socket) -> bytes:
    """Everything until the server closes; socket.timeout if it never does."""
    chunks = []
    while chunk := conn.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _get(port: int, path: str = "/") -> bytes:
    with _connect(port) as conn:
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        return _read_all(conn)


def test_an_unfinished_request_head_is_cut_off() -> None:
    with running(ServingLimits(head_timeout=0.3)) as (_, port), _connect(port) as conn:
        conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")  # ... and nothing more
        assert _read_all(conn) == b""  # closed by the server, well before the client gave up


def test_a_connection_that_sends_nothing_is_cut_off() -> None:
    with running(ServingLimits(head_timeout=0.3)) as (_, port), _connect(port) as conn:
        assert _read_all(conn) == b""


def _post_head(path: str, length: int) -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n"
    return (head + "Connection: close\r\n\r\n").encode()


def test_a_body_that_stops_coming_is_cut_off() -> None:
    limits = ServingLimits(head_timeout=5, body_timeout=0.3)
    with running(limits) as (server, port), _connect(port) as conn:
        conn.sendall(_post_head("/size", 100) + b"x" * 10)  # ... and the other 90 never come
        assert _read_all(conn) == b""  # closed by the server, well before the client gave up
        assert server.gate.timed_out == 1


def test_a_slow_body_that_keeps_coming_is_served() -> None:
    limits = ServingLimits(head_timeout=5, body_timeout=0.3)
    with running(limits) as (server, port), _connect(port) as conn:
        conn.sendall(_post_head("/size", 8))
        for _ in range(8):  # 0.8 s in all, well past the timeout, but never 0.3 s without a byte
            time.sleep(0.1)
            conn.sendall(b"x")
        assert _read_all(conn).endswith(b"\r\n\r\n8")
        assert server.gate.timed_out == 0


def test_an_app_slow_to_read_a_body_is_not_the_clients_fault() -> None:
    limits = ServingLimits(head_timeout=5, body_timeout=0.3)
    body = b"x" * (4 << 20)  # past uvicorn's buffer: it stops reading until the app reads
    with running(limits) as (server, port), _connect(port) as conn:
        conn.sendall(_post_head("/size?read_after=1", len(body)) + body)
        assert _read_all(conn).endswith(f"\r\n\r\n{len(body)}".encode())
        assert server.gate.timed_out == 0


def test_over_tls_the_head_timeout_counts_from_the_accept(
    tls_files: TLSFiles, client_ssl_context: ssl.SSLContext
) -> None:
    limits = ServingLimits(head_timeout=0.3)
    with running(limits, tls_files) as (_, port):
        with _connect(port) as idle:  # never starts its handshake
            assert _read_all(idle) == b""
        with client_ssl_context.wrap_socket(_connect(port), server_hostname="127.0.0.1") as tls:
            tls.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # handshake done, head unfinished
            assert _read_all(tls) == b""
        with client_ssl_context.wrap_socket(_connect(port), server_hostname="127.0.0.1") as tls:
            tls.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert _read_all(tls).endswith(b"hello")  # a whole head in time is served


def test_over_the_connection_bound_the_oldest_waiting_connection_makes_room() -> None:
    limits = ServingLimits(max_connections=20)
    with running(limits) as (server, port):
        slow = [_connect(port) for _ in range(40)]
        for conn in slow:
            conn.sendall(b"GET / HTTP/1.1\r\n")
        assert _get(port).endswith(b"hello")  # served at once, not after a head timeout
        assert server.gate.shed >= 20
        # The first slow connections were the ones shut down, and they see it.
        assert _read_all(slow[0]) == b""
        for conn in slow:
            conn.close()


def test_a_request_being_served_is_never_shed() -> None:
    limits = ServingLimits(max_connections=3)
    with running(limits) as (_, port), _connect(port) as streaming:
        streaming.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        assert streaming.recv(1000).startswith(b"HTTP/1.1 200")
        idle = [_connect(port) for _ in range(6)]
        assert _get(port).endswith(b"hello")
        assert b"tick" in streaming.recv(1000)  # still streaming
        for conn in idle:
            conn.close()


def test_a_graceful_stop_ends_streams_without_waiting_out_the_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    limits = ServingLimits(graceful_shutdown=30)
    with running(limits) as (server, port), _connect(port) as conn:
        conn.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        assert conn.recv(1000).startswith(b"HTTP/1.1 200")
        server.should_exit = True
        # The chunked body ends properly (0-length chunk), long before the 30 s grace period.
        assert _read_all(conn).endswith(b"0\r\n\r\n")
    assert "graceful shutdown exceeded" not in caplog.text


def test_accept_failures_are_logged_once_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    loop = asyncio.new_event_loop()
    try:
        handle = _accept_errors_throttled(loop, interval=3600)
        context = {
            "message": "socket.accept() out of system resource",
            "exception": OSError(errno.EMFILE, "Too many open files"),
        }
        with caplog.at_level(logging.WARNING, logger="yardcam.web"):
            for _ in range(500):
                handle(loop, context)
    finally:
        loop.close()
    lines = [r for r in caplog.records if "accept() failed" in r.getMessage()]
    assert len(lines) == 1
    assert "Too many open files" in lines[0].getMessage()
