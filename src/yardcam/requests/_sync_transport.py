"""Blocking I/O for :class:`Session`: sockets + ssl, driven by the shared :class:`HTTP11` core.

Everything here is I/O; what to write and what the read bytes mean is decided in ``_protocol``.
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import time
from collections.abc import Hashable, Iterator

from yardcam.requests._config import TimeoutConfig
from yardcam.requests._dns import Resolve, getaddrinfo, lookup_within
from yardcam.requests._errors import Phase, translate_errors
from yardcam.requests._exchange import (
    answer_may_be_waiting,
    release,
    replay_on_fresh,
    response_from,
)
from yardcam.requests._pool import Pool, pool_key
from yardcam.requests._protocol import DRAIN_LIMIT, END, HTTP11, NEED_DATA, ResponseHead
from yardcam.requests._proxies import Proxy, Route
from yardcam.requests._tunnel import READ_SIZE as TUNNEL_READ_SIZE
from yardcam.requests._tunnel import Tunnel
from yardcam.requests._urls import URL
from yardcam.requests.exceptions import ConnectionError
from yardcam.requests.models import PreparedRequest, Response

__all__ = ["SocketConnection", "SyncTransport"]

_READ_SIZE = 256 * 1024


class SocketConnection:
    """One TCP (or TLS) connection and its protocol state."""

    __slots__ = ("key", "proto", "sock", "where")

    def __init__(
        self,
        sock: socket.socket,
        key: Hashable,
        where: str,
        forward: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        self.sock = sock
        self.key = key
        self.where = where
        self.proto = HTTP11(forward)

    def is_dropped(self) -> bool:
        """An idle connection with something to read has been closed (or spoiled) by the server."""
        try:
            if not _readable_now(self.sock):
                return False
        except (OSError, ValueError):
            return True
        if isinstance(self.sock, ssl.SSLSocket):
            # TLS 1.3 servers may send session tickets after a response: readable, yet fine.
            self.sock.setblocking(False)  # the next exchange sets its own timeout
            try:
                self.sock.recv(1)  # EOF or stray data: either way unusable
            except ssl.SSLWantReadError:
                return False
            except OSError:
                pass
        return True

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def read_head(self) -> ResponseHead:
        with translate_errors(Phase.HEAD, self.where):
            event = self.read_event()
        assert isinstance(event, ResponseHead)  # h11 yields the head before any body
        return event

    def read_event(self) -> object:
        proto = self.proto
        while True:
            event = proto.next_event()
            if event is not NEED_DATA:
                return event
            proto.receive(self.sock.recv(_READ_SIZE))


def _readable_now(sock: socket.socket) -> bool:
    # poll() where there is one: select() cannot watch descriptors >= FD_SETSIZE (1024).
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


class SocketBodyStream:
    """A response body read from its connection; the connection is released at the end."""

    __slots__ = ("_conn", "_pool")

    def __init__(self, conn: SocketConnection, pool: Pool[SocketConnection]) -> None:
        self._conn: SocketConnection | None = conn
        self._pool = pool

    def __iter__(self) -> Iterator[bytes]:
        conn = self._conn
        if conn is None:
            return
        try:
            while True:
                with translate_errors(Phase.BODY, conn.where):
                    event = conn.read_event()
                if event is END:
                    break
                yield event  # type: ignore[misc]
        except BaseException:  # including GeneratorExit: a half-read body spoils the connection
            self.close()
            raise
        self._release()

    def drain(self) -> None:
        """Finish a body nobody wants, keeping the connection if that is cheap."""
        conn = self._conn
        if conn is None:
            return
        received = 0
        try:
            while received <= DRAIN_LIMIT:
                with translate_errors(Phase.BODY, conn.where):
                    event = conn.read_event()
                if event is END:
                    self._release()
                    return
                received += len(event)  # type: ignore[arg-type]
        except ConnectionError:
            pass  # the body was unwanted anyway; only the connection is lost
        self.close()

    def _release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            release(conn, self._pool)

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


class SyncTransport:
    """Sends one request over a pooled (or new) connection and returns the response head.

    ``resolve`` looks host names up (see ``_dns``: replaceable for tests only).
    """

    def __init__(self, pool: Pool[SocketConnection], resolve: Resolve = getaddrinfo) -> None:
        self._pool = pool
        self._resolve = resolve

    def send(
        self,
        request: PreparedRequest,
        timeout: TimeoutConfig,
        ssl_context: ssl.SSLContext | None,
        proxy: Proxy | None = None,
    ) -> Response:
        url = request.parsed_url
        key = pool_key(url, ssl_context, proxy)
        conn = self._pool.take(key)
        if conn is not None:
            try:
                return self._exchange(conn, request, timeout)
            except ConnectionError as exc:
                if not replay_on_fresh(exc, conn, request):
                    raise
                request.rewind_body()
        conn = _connect(url, timeout, ssl_context, key, proxy, self._resolve)
        return self._exchange(conn, request, timeout)

    def _exchange(
        self, conn: SocketConnection, request: PreparedRequest, timeout: TimeoutConfig
    ) -> Response:
        started = time.perf_counter()
        try:
            conn.sock.settimeout(timeout.read)
            head = self._send_and_read_head(conn, request)
        except BaseException:
            conn.close()  # after any error the connection is never reused
            raise
        return response_from(
            head,
            request,
            started,
            SocketBodyStream(conn, self._pool),
        )

    @staticmethod
    def _send_and_read_head(conn: SocketConnection, request: PreparedRequest) -> ResponseHead:
        proto, sendall = conn.proto, conn.sock.sendall
        try:
            with translate_errors(Phase.SEND, conn.where):
                for buf in proto.start_request(request):
                    sendall(buf)
                if request.body is not None:
                    for block in request.body:
                        for buf in proto.send_body(block):
                            sendall(buf)
                for buf in proto.end_request():
                    sendall(buf)
        except ConnectionError as exc:
            if not answer_may_be_waiting(exc):
                raise
            try:
                return conn.read_head()
            except ConnectionError:
                raise exc from None
        return conn.read_head()


def _connect(
    url: URL,
    timeout: TimeoutConfig,
    ssl_context: ssl.SSLContext | None,
    key: Hashable,
    proxy: Proxy | None,
    resolve: Resolve,
) -> SocketConnection:
    route = Route.to(url, proxy, tls=ssl_context is not None)
    with translate_errors(route.first_phase, route.first_where):
        sock = _open_socket(route.host, route.port, timeout.connect, resolve)
    try:
        with translate_errors(route.first_phase, route.first_where):
            # Small writes (head, multipart trailers) must not wait for the peer's delayed ACK.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if route.tunnel_through is not None:
                _open_tunnel(sock, Tunnel(route.tunnel_through, url))
        if ssl_context is not None:
            with translate_errors(Phase.CONNECT, route.where):
                sock = ssl_context.wrap_socket(sock, server_hostname=url.host)
    except BaseException:
        sock.close()
        raise
    return SocketConnection(sock, key, route.where, route.forward_headers)


def _open_socket(
    host: str, port: int, connect_timeout: float | None, resolve: Resolve
) -> socket.socket:
    """``socket.create_connection`` with the DNS lookup inside the connect timeout: lookup and
    TCP connect share one deadline; each address is tried in turn, as create_connection does.
    The socket keeps ``connect_timeout`` for the CONNECT and TLS steps that follow."""
    deadline = None if connect_timeout is None else time.monotonic() + connect_timeout
    addresses = lookup_within(host, port, connect_timeout, resolve)
    error: OSError = OSError(f"no address found for {host}")
    for family, kind, proto, _, address in addresses:
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(None if deadline is None else _left(deadline))
            sock.connect(address)
        except OSError as exc:
            sock.close()
            error = exc
            continue
        sock.settimeout(connect_timeout)
        return sock
    raise error


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("timed out")
    return left


def _open_tunnel(sock: socket.socket, tunnel: Tunnel) -> None:
    """CONNECT, within the connect timeout the socket still has."""
    sock.sendall(tunnel.request())
    while not tunnel.receive(sock.recv(TUNNEL_READ_SIZE)):
        pass
