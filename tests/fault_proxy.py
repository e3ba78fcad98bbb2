"""A TCP proxy on 127.0.0.1 in front of archive nodes, with faults switched while it runs.

The chaos benchmark (``benchmarks/chaos.py``) puts it between the cam and the archive (plain
HTTP on loopback, so it can answer for the archive). Modes, for connections made after the
switch (switching also cuts every open connection, so a pooled keep-alive connection cannot
dodge the new mode):

- ``forward``: bytes both ways to the first upstream that accepts (round robin over several
  nodes, as a load balancer would), optionally throttled to ``rate`` bytes/s per direction,
  and with probability ``loss`` a connection is cut (RST) after a random number of bytes;
- ``503`` / ``429`` / ``413``: reads the request (head and Content-Length body) and answers
  that status (429 with ``Retry-After: 1``; 413, a refusal for good, with an error reason);
- ``hang``: accepts, reads everything, never answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import threading
from collections.abc import Coroutine
from typing import Any

_CHUNK = 16 * 1024


class FaultProxy:
    def __init__(self, upstreams: list[int], seed: int = 0) -> None:
        self.upstreams = list(upstreams)
        self.mode = "forward"
        self.rate: float | None = None  # bytes/s per direction and connection
        self.loss = 0.0
        self.cut = 0  # connections cut on purpose (loss)
        self.rng = random.Random(seed)
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=512)
        self.port: int = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._next = 0
        self._open: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fault-proxy", daemon=True)
        self._thread.start()
        self._ready.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, sock=self._listener, limit=1 << 20)
        )
        self._ready.set()
        self._loop.run_forever()

    def _call(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(30)

    def set(self, mode: str | None = None, *, rate: float | None = None, loss: float = 0.0) -> None:
        """Switch the fault (and cut every open connection)."""

        async def switch() -> None:
            if mode is not None:
                self.mode = mode
            self.rate, self.loss = rate, loss
            for writer in list(self._open):
                writer.transport.abort()

        self._call(switch())

    def close(self) -> None:
        async def stop() -> None:
            self._server.close()
            for writer in list(self._open):
                writer.transport.abort()

        self._call(stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._open.add(writer)
        try:
            if self.mode == "hang":
                while await reader.read(_CHUNK):
                    pass
            elif self.mode in ("503", "429", "413"):
                await self._refuse(reader, writer, self.mode)
            else:
                await self._forward(reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self._open.discard(writer)
            writer.transport.abort()

    async def _refuse(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, status: str
    ) -> None:
        while True:  # every request on this connection gets the same answer
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            extra = b"Retry-After: 1\r\n" if status == "429" else b""
            body = b'{"error": "chaos: refused by the fault proxy"}'
            writer.write(
                f"HTTP/1.1 {status} Chaos\r\nContent-Type: application/json\r\n".encode()
                + extra
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            await writer.drain()

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream = None
        for _ in range(len(self.upstreams)):
            port = self.upstreams[self._next % len(self.upstreams)]
            self._next += 1
            with contextlib.suppress(OSError):
                upstream = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
                break
        if upstream is None:
            return  # no node accepts: the client sees the connection closed
        up_reader, up_writer = upstream
        self._open.add(up_writer)
        cut_after = None
        if self.loss and self.rng.random() < self.loss:
            cut_after = self.rng.randrange(1, 200_000)
        try:
            await asyncio.gather(
                self._pipe(reader, up_writer, cut_after), self._pipe(up_reader, writer, None)
            )
        finally:
            self._open.discard(up_writer)
            up_writer.transport.abort()

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, cut_after: int | None
    ) -> None:
        sent = 0
        while data := await reader.read(_CHUNK):
            if cut_after is not None and sent + len(data) >= cut_after:
                self.cut += 1
                writer.transport.abort()
                return
            writer.write(data)
            await writer.drain()
            sent += len(data)
            if self.rate:
                await asyncio.sleep(len(data) / self.rate)
        if writer.can_write_eof():
            writer.write_eof()
