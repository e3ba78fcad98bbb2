"""A small real forward proxy for the proxy tests: asyncio on 127.0.0.1 port 0, in a thread.

- ``CONNECT host:port`` opens a TCP connection to the target, answers 200 and pipes bytes both
  ways until either side closes (what squid does for https).
- An absolute-form request (``GET http://host:port/path``) is forwarded to its origin in
  origin-form without the Proxy-* headers, h11 on both sides, and the answer relayed; the
  connection to the origin is kept for the next request of the same client connection.
- With ``credentials=(user, password)``, anything without the matching ``Proxy-Authorization``
  gets ``407 Proxy Authentication Required``. With ``hold_connect=True`` it reads CONNECT and
  never answers (for timeouts and cancellation).

It records what the tests assert on (:class:`ProxyLog`): client connections accepted, tunnels
opened, each request line (``"CONNECT 127.0.0.1:4433"``, ``"GET http://..."``) and each
Proxy-Authorization value (None when absent).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import h11

_READ = 64 * 1024
_HOP_BY_HOP = {b"proxy-authorization", b"proxy-connection"}


@dataclass
class ProxyLog:
    connections: int = 0
    connects: int = 0
    request_lines: list[str] = field(default_factory=list)
    authorizations: list[str | None] = field(default_factory=list)


class ForwardProxy:
    """Run with ``with ForwardProxy() as proxy:``; ``proxy.url`` is ``http://127.0.0.1:PORT``."""

    def __init__(
        self, credentials: tuple[str, str] | None = None, *, hold_connect: bool = False
    ) -> None:
        self._expected = None
        if credentials is not None:
            token = base64.b64encode(":".join(credentials).encode()).decode()
            self._expected = "Basic " + token
        self._hold_connect = hold_connect
        self._log = ProxyLog()
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._run, name="test-proxy", daemon=True)
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> ProxyLog:
        """A snapshot of what the proxy saw so far."""
        with self._lock:
            log = self._log
            return ProxyLog(
                log.connections, log.connects, list(log.request_lines), list(log.authorizations)
            )

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> ForwardProxy:
        self._thread.start()
        if not self._ready.wait(10) or not self.port:
            raise RuntimeError("test proxy did not start")
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()
            server.close()
            for writer in list(self._writers):
                writer.transport.abort()  # handlers still piping end with their connection
        await asyncio.sleep(0)  # let the aborted transports finish closing

    # -- one client connection -------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        with self._lock:
            self._log.connections += 1
        upstreams: dict[tuple[str, int], Upstream] = {}
        try:
            await self._serve_requests(reader, writer, upstreams)
        except (OSError, h11.ProtocolError, asyncio.IncompleteReadError):
            pass  # a client or origin that went away: nothing to answer
        finally:
            for upstream in upstreams.values():
                upstream.writer.transport.abort()
            writer.transport.abort()
            self._writers.discard(writer)

    async def _serve_requests(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        upstreams: dict[tuple[str, int], Upstream],
    ) -> None:
        conn = h11.Connection(h11.SERVER)
        while True:
            request, body = await _read_message(conn, reader)
            if request is None:
                return
            assert isinstance(request, h11.Request)
            method, target = request.method.decode(), request.target.decode()
            auth = dict(request.headers).get(b"proxy-authorization")
            with self._lock:
                self._log.request_lines.append(f"{method} {target}")
                self._log.authorizations.append(auth.decode() if auth else None)
            if self._expected is not None and (auth is None or auth.decode() != self._expected):
                await _answer(conn, writer, 407, b"Proxy Authentication Required")
            elif method == "CONNECT":
                if self._hold_connect:
                    await reader.read()  # until the client gives up
                    return
                await self._tunnel(target, conn, reader, writer)
                return
            else:
                await self._forward(request, body, conn, writer, upstreams)
            conn.start_next_cycle()

    async def _tunnel(
        self,
        target: str,
        conn: h11.Connection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        host, _, port = target.rpartition(":")
        up_reader, up_writer = await asyncio.open_connection(host.strip("[]"), int(port))
        self._writers.add(up_writer)
        try:
            with self._lock:
                self._log.connects += 1
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            early, _ = conn.trailing_data
            if early:
                up_writer.write(early)
            pipes = [
                asyncio.ensure_future(_pipe(reader, up_writer)),
                asyncio.ensure_future(_pipe(up_reader, writer)),
            ]
            try:
                await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for pipe in pipes:
                    pipe.cancel()
                await asyncio.gather(*pipes, return_exceptions=True)
        finally:
            up_writer.transport.abort()
            self._writers.discard(up_writer)

    async def _forward(
        self,
        request: h11.Request,
        body: bytes,
        conn: h11.Connection,
        writer: asyncio.StreamWriter,
        upstreams: dict[tuple[str, int], Upstream],
    ) -> None:
        url = urlsplit(request.target.decode())
        address = (url.hostname or "", url.port or 80)
        upstream = upstreams.get(address)
        if upstream is None:
            up_reader, up_writer = await asyncio.open_connection(*address)
            upstream = upstreams[address] = Upstream(up_reader, up_writer)
        origin_form = (url.path or "/") + (f"?{url.query}" if url.query else "")
        headers = [(n, v) for n, v in request.headers if n.lower() not in _HOP_BY_HOP]
        client = upstream.conn
        out = client.send(h11.Request(method=request.method, target=origin_form, headers=headers))
        if body:
            out = (out or b"") + (client.send(h11.Data(data=body)) or b"")
        upstream.writer.write((out or b"") + (client.send(h11.EndOfMessage()) or b""))
        response, answer = await _read_message(client, upstream.reader)
        assert isinstance(response, h11.Response)
        relayed = conn.send(
            h11.Response(
                status_code=response.status_code, reason=response.reason, headers=response.headers
            )
        )
        if answer:
            relayed = (relayed or b"") + (conn.send(h11.Data(data=answer)) or b"")
        writer.write((relayed or b"") + (conn.send(h11.EndOfMessage()) or b""))
        await writer.drain()
        if client.our_state is h11.DONE and client.their_state is h11.DONE:
            client.start_next_cycle()
        else:
            del upstreams[address]
            upstream.writer.transport.abort()


@dataclass
class Upstream:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    conn: h11.Connection = field(default_factory=lambda: h11.Connection(h11.CLIENT))


async def _read_message(
    conn: h11.Connection, reader: asyncio.StreamReader
) -> tuple[h11.Request | h11.Response | None, bytes]:
    """The next request (server side) or response (client side) with its whole body; (None,
    b"") when the peer closed between messages."""
    head: h11.Request | h11.Response | None = None
    body = bytearray()
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(await reader.read(_READ))
        elif isinstance(event, h11.Request | h11.Response):
            head = event
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            return head, bytes(body)
        elif isinstance(event, h11.ConnectionClosed):
            return None, b""
        # InformationalResponse: the final answer follows


async def _answer(
    conn: h11.Connection, writer: asyncio.StreamWriter, status: int, reason: bytes
) -> None:
    headers = [(b"Content-Length", str(len(reason)).encode())]
    if status == 407:
        headers.append((b"Proxy-Authenticate", b'Basic realm="test proxy"'))
    data = conn.send(h11.Response(status_code=status, reason=reason, headers=headers)) or b""
    data += (conn.send(h11.Data(data=reason)) or b"") + (conn.send(h11.EndOfMessage()) or b"")
    writer.write(data)
    await writer.drain()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while data := await reader.read(_READ):
            writer.write(data)
            await writer.drain()
