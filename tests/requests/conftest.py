"""Fixtures for the yardcam.requests tests; the servers themselves live in ``echo_servers``
(an importable module: ``from conftest import`` depended on which conftest pytest loaded first).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from echo_servers import EchoServer, EchoState, make_echo_app, raw_server

from serving import TLSFiles, serve


@pytest.fixture(scope="session")
def echo_server() -> Iterator[EchoServer]:
    """The echo app over plain HTTP, shared by the whole session."""
    state = EchoState()
    with serve(make_echo_app(state)) as running:
        yield EchoServer(running.url, state)


@pytest.fixture(scope="session")
def tls_echo_server(tls_files: TLSFiles) -> Iterator[EchoServer]:
    """The echo app over HTTPS with the trustme certificate (CA bundle: ``tls_files.ca_pem``)."""
    state = EchoState()
    with serve(make_echo_app(state), tls_files) as running:
        yield EchoServer(running.url, state)


@pytest.fixture
def full_backlog_port() -> Iterator[int]:
    """A listener whose accept queue is full: new SYNs are dropped, so connecting hangs."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(8):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            fillers.append(s)
        yield port
    finally:
        for s in fillers:
            s.close()
        listener.close()


@pytest.fixture
def refused_port() -> int:
    """A port nothing listens on."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        return int(listener.getsockname()[1])


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A server that accepts connections, reads the request and never answers."""

    def swallow(conn: socket.socket, index: int) -> None:
        while conn.recv(65536):  # until the client gives up and closes
            pass

    with raw_server(swallow) as server:
        yield server.port
