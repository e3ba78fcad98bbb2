"""asyncio I/O for :class:`AsyncSession`: streams + ssl, driven by the shared :class:`HTTP11` core.

The twin of ``_sync_transport`` in I/O only; the protocol, pooling policy and error translation are
the shared ones. Request bodies come from ``Body.__aiter__``, which reads real files in a worker
thread, so nothing here blocks the event loop.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator, Hashable

from yardcam.requests._config import TimeoutConfig
from yardcam.requests._dns import Resolve, getaddrinfo, is_ip_address
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
from yardcam.requests.models import AsyncStreamBase, PreparedRequest, Response

__all__ = ["AsyncTransport", "StreamConnection"]

_READ_SIZE = 256 * 1024
_STREAM_LIMIT = 1024 * 1024
#: Wait for the peer to take our bytes only once this much is buffered in the transport.
_WRITE_HIGH_WATER = 256 * 1024
_CLOSE_TIMEOUT = 2.0


class StreamConnection:
    """One asyncio TCP (or TLS) connection and its protocol state."""

    __slots__ = ("_held", "_held_size", "key", "proto", "reader", "tls", "where", "writer")

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        key: Hashable,
        where: str,
        *,
        tls: bool = False,
        forward: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.key = key
        self.where = where
        self.tls = tls
        self.proto = HTTP11(forward)
        # TLS only: buffers not yet handed to the transport (see write()).
        self._held: list[bytes] = []
        self._held_size = 0

    def is_dropped(self) -> bool:
        """The server closed it (EOF seen by the loop), or it is closing."""
        return self.reader.at_eof() or self.writer.transport.is_closing()

    def close(self) -> None:
        """Close politely (TLS close_notify first): for idle connections, whose peer answers."""
        self.writer.close()

    def abort(self) -> None:
        """Drop the connection now, for one spoiled by an error, a cancellation or an unread body.

        A polite TLS close waits for the peer's close_notify, and a peer busy streaming (or an
        event loop that ends first) leaves the socket open, to be reclaimed by the garbage
        collector with a ResourceWarning. An abort closes the socket on the loop's next turn.
        """
        self.writer.transport.abort()

    async def wait_closed(self) -> None:
        """Wait for the close to finish; a peer that never answers TLS close_notify is cut off."""
        try:
            async with asyncio.timeout(_CLOSE_TIMEOUT):
                await self.writer.wait_closed()
        except TimeoutError:
            self.abort()
        except OSError:
            pass  # already broken: closed is closed
        except BaseException:  # cancelled while waiting: do not leave the close half done
            self.abort()
            raise

    async def read_head(self, read_timeout: float | None) -> ResponseHead:
        with translate_errors(Phase.HEAD, self.where):
            event = await self.read_event(read_timeout)
        assert isinstance(event, ResponseHead)  # h11 yields the head before any body
        return event

    async def read_event(self, read_timeout: float | None) -> object:
        proto = self.proto
        while True:
            event = proto.next_event()
            if event is not NEED_DATA:
                return event
            async with asyncio.timeout(read_timeout):
                data = await self.reader.read(_READ_SIZE)
            proto.receive(data)

    async def write(self, buffers: list[bytes], write_timeout: float | None) -> None:
        writer = self.writer
        if self.tls:
            # asyncio encrypts each TLS write on its own and sends the result at once: a frame's
            # head, JPEG and closing boundary would cost three sends. Held back until the
            # request ends (or a block's worth is waiting), they go out as one. Encryption
            # copies them anyway, so holding them costs no extra copy.
            self._held += buffers
            self._held_size += sum(map(len, buffers))
            if self._held_size < _WRITE_HIGH_WATER:
                return
            writer.writelines(self._held)
            self._held, self._held_size = [], 0
        else:
            # Not writelines(): on a plain socket it joins the buffers, copying a frame's JPEG.
            for buf in buffers:
                writer.write(buf)
        if writer.transport.get_write_buffer_size() > _WRITE_HIGH_WATER:
            async with asyncio.timeout(write_timeout):
                await writer.drain()

    async def flush(self, write_timeout: float | None) -> None:
        if self._held:
            self.writer.writelines(self._held)
            self._held, self._held_size = [], 0
        if not self.writer.transport.get_write_buffer_size():
            # The kernel took every byte (the usual case for a frame): nothing to wait for, and
            # no timer to arm and cancel. A lost connection then shows when the head is read.
            return
        async with asyncio.timeout(write_timeout):
            await self.writer.drain()


class StreamBodyStream(AsyncStreamBase):
    """A response body read from its connection; the connection is released at the end."""

    __slots__ = ("_conn", "_pool", "_read_timeout")

    def __init__(
        self, conn: StreamConnection, pool: Pool[StreamConnection], read_timeout: float | None
    ) -> None:
        self._conn: StreamConnection | None = conn
        self._pool = pool
        self._read_timeout = read_timeout

    async def __aiter__(self) -> AsyncIterator[bytes]:
        conn = self._conn
        if conn is None:
            return
        try:
            while True:
                with translate_errors(Phase.BODY, conn.where):
                    event = await conn.read_event(self._read_timeout)
                if event is END:
                    break
                yield event  # type: ignore[misc]
        except BaseException:  # including GeneratorExit/cancellation: the connection is spoiled
            self.close()
            raise
        self._release()

    async def adrain(self) -> None:
        """Finish a body nobody wants, keeping the connection if that is cheap."""
        conn = self._conn
        if conn is None:
            return
        received = 0
        try:
            while received <= DRAIN_LIMIT:
                with translate_errors(Phase.BODY, conn.where):
                    event = await conn.read_event(self._read_timeout)
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
        """Drop the connection without waiting (from sync code, or abandoning the body)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.abort()  # the body was not read to its end: the connection is spoiled

    async def aclose(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.abort()
            await conn.wait_closed()


class AsyncTransport:
    """Sends one request over a pooled (or new) connection and returns the response head.

    ``resolve`` looks host names up (see ``_dns``: replaceable for tests only).
    """

    def __init__(self, pool: Pool[StreamConnection], resolve: Resolve = getaddrinfo) -> None:
        self._pool = pool
        self._resolve = resolve

    async def send(
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
                return await self._exchange(conn, request, timeout)
            except ConnectionError as exc:
                if not replay_on_fresh(exc, conn, request):
                    raise
                request.rewind_body()
        conn = await _connect(url, timeout, ssl_context, key, proxy, self._resolve)
        return await self._exchange(conn, request, timeout)

    async def _exchange(
        self, conn: StreamConnection, request: PreparedRequest, timeout: TimeoutConfig
    ) -> Response:
        started = time.perf_counter()
        try:
            head = await self._send_and_read_head(conn, request, timeout.read)
        except BaseException:
            conn.abort()  # after any error (or cancellation) the connection is never reused
            raise
        return response_from(
            head,
            request,
            started,
            StreamBodyStream(conn, self._pool, timeout.read),
        )

    @staticmethod
    async def _send_and_read_head(
        conn: StreamConnection, request: PreparedRequest, read_timeout: float | None
    ) -> ResponseHead:
        proto = conn.proto
        try:
            with translate_errors(Phase.SEND, conn.where):
                await conn.write(proto.start_request(request), read_timeout)
                if request.body is not None:
                    async for block in request.body:
                        await conn.write(proto.send_body(block), read_timeout)
                await conn.write(proto.end_request(), read_timeout)
                await conn.flush(read_timeout)
        except ConnectionError as exc:
            if not answer_may_be_waiting(exc):
                raise
            try:
                return await conn.read_head(read_timeout)
            except ConnectionError:
                raise exc from None
        return await conn.read_head(read_timeout)


async def _connect(
    url: URL,
    timeout: TimeoutConfig,
    ssl_context: ssl.SSLContext | None,
    key: Hashable,
    proxy: Proxy | None,
    resolve: Resolve,
) -> StreamConnection:
    route = Route.to(url, proxy, tls=ssl_context is not None)
    tunnel = route.tunnel_through
    # One deadline for every step (DNS, TCP, CONNECT, TLS): each is translated with its phase.
    loop = asyncio.get_running_loop()
    deadline = None if timeout.connect is None else loop.time() + timeout.connect
    direct_tls = ssl_context if tunnel is None else None
    with translate_errors(route.first_phase, route.first_where):
        async with asyncio.timeout_at(deadline):
            reader, writer = await _open_streams(
                route.host, route.port, resolve, direct_tls, url.host
            )
    if tunnel is not None:
        assert ssl_context is not None  # a tunnel is only made for https
        try:
            with translate_errors(route.first_phase, route.first_where):
                async with asyncio.timeout_at(deadline):
                    await _open_tunnel(reader, writer, Tunnel(tunnel, url))
            with translate_errors(Phase.CONNECT, route.where):
                async with asyncio.timeout_at(deadline):
                    await writer.start_tls(ssl_context, server_hostname=url.host)
        except BaseException:  # including cancellation: never leave the socket to the GC
            writer.transport.abort()
            raise
    return StreamConnection(
        reader,
        writer,
        key,
        route.where,
        tls=ssl_context is not None,
        forward=route.forward_headers,
    )


async def _open_streams(
    host: str,
    port: int,
    resolve: Resolve,
    ssl_context: ssl.SSLContext | None,
    server_hostname: str,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Look ``host`` up with ``resolve`` (off the loop) and connect to its addresses in turn,
    as ``asyncio.open_connection`` would with its own lookup."""
    if is_ip_address(host):
        addresses: list[str] = [host]
    else:
        loop = asyncio.get_running_loop()
        infos = await loop.run_in_executor(None, resolve, host, port)
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    error: OSError = OSError(f"no address found for {host}")
    for address in addresses:
        try:
            # asyncio sets TCP_NODELAY on its TCP transports.
            return await asyncio.open_connection(
                address,
                port,
                ssl=ssl_context,
                server_hostname=server_hostname if ssl_context is not None else None,
                limit=_STREAM_LIMIT,
            )
        except ssl.SSLError:
            raise  # the server was reached: another address of it will not fix its certificate
        except OSError as exc:
            error = exc
    raise error


async def _open_tunnel(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, tunnel: Tunnel
) -> None:
    writer.write(tunnel.request())
    while not tunnel.receive(await reader.read(TUNNEL_READ_SIZE)):
        pass
