"""Serving a web app so that web clients cannot starve the process that runs it.

uvicorn alone bounds nothing: a connection that never finishes its request head (slowloris) is
held forever, every accepted connection costs a file descriptor, and at the open-file limit the
cam's outbox fails with ``EMFILE`` while asyncio logs one accept() traceback per attempt. The
rules kept here:

* **A gate on the listening socket** decides at accept() time, before any TLS handshake. The
  servers of one event loop (``yardcam run`` serves the dashboard and the archive from one
  process) share one budget of connections: the descriptor table's limit, less what was open
  when the first one started, less ``fd_reserve`` kept for frames, uploads and the index. Each
  server also holds at most ``max_connections``. Over either line the oldest connection still
  *waiting for a request head* is shut down to make room (an attacker's idle or dripping
  connection, never a request being served): of any server when the budget is spent, of this
  one at its own bound. If none is waiting, the new connection is closed at once; while shed
  connections have not yet given their descriptors back, new ones wait in the kernel's
  backlog. An accepted descriptor numbered within half the reserve of the limit means the table
  is full whatever the count says (Linux hands out the lowest free number): refused.
* **A request head must arrive whole within ``head_timeout``** of the accept (TLS handshake
  included) or of the previous response; then the connection is shut down.
* **A request body must keep coming**: a connection that sent a head and then nothing of its
  body for ``body_timeout`` is shut down too (a client that drips a body would otherwise hold
  its connection forever, counted as served). Time the app takes to read what has arrived
  (uvicorn stops reading past its buffer) or to ask for an ``Expect: 100-continue`` body is
  not counted against the client.
* **The soft open-file limit is raised to the hard one** at start (:func:`raise_open_file_limit`).
* **What start-up built is frozen** (``gc.freeze``) once the app is loaded and its lifespan
  started: modules, apps and settings live as long as the process, yet a full collection walks
  them all, on the loop's thread. In the cam (~57,000 tracked objects) that took 26-51 ms of
  CPU on the 2-core build box, ten times the loop's 5 ms stall budget, whenever the collector
  decided it was time; frozen, a full pass walks only what was made since: 1.5-5.5 ms after
  a benchmark run (benchmarks/viewers.py). Garbage is collected first, so none is kept for good.
* **accept() failures are logged once per ``log_interval``**, with how many were folded in.
* **A graceful stop ends streaming responses** (SSE, MJPEG): they see the client "leave" and end
  their body cleanly, so the stop never waits out ``timeout_graceful_shutdown``.

Only the h11 protocol is used (the gate needs to see request heads); the gate only works with
the asyncio event loop, whose accept() calls the listening socket object's ``accept``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import logging
import os
import resource
import socket
import time
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from yardcam.log_throttle import LogThrottle

log = logging.getLogger("yardcam.web")

Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Message, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]


@dataclass(frozen=True, slots=True)
class ServingLimits:
    """What one served web app may take from its process (see the module doc)."""

    #: Seconds for a request head (TLS handshake included) to arrive complete.
    head_timeout: float = 10.0
    #: Seconds a request body may go without a byte arriving while the app waits for it.
    body_timeout: float = 30.0
    #: Seconds an idle keep-alive connection is kept.
    keep_alive: int = 5
    #: Open connections at most (each costs memory, a TLS one ~0.3 MB).
    max_connections: int = 1000
    #: File descriptors at the top of the table web connections never hold.
    fd_reserve: int = 64
    #: Bytes of a request line + headers (h11 answers 400 beyond).
    max_head_bytes: int = 16 * 1024
    #: Seconds a graceful stop waits for requests in progress.
    graceful_shutdown: int = 3
    #: Seconds between two log lines about refused connections or failed accept() calls.
    log_interval: float = 60.0

    def __post_init__(self) -> None:
        timeouts = (self.head_timeout, self.body_timeout)
        if min(timeouts) <= 0 or self.max_connections < 1 or self.fd_reserve < 2:
            raise ValueError(f"nonsense serving limits: {self}")


def raise_open_file_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit; returns the soft limit now in force.

    Services often start with a soft limit of 1,024 and a far higher hard one; the cam keeps
    frames, uploads, an index and web clients in one process, so it takes all it may.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = 1 << 20 if hard == resource.RLIM_INFINITY else hard
        with contextlib.suppress(ValueError, OSError):  # a sandbox may refuse: keep what we have
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    return soft


class _Connections:
    """Every gated connection of one event loop, whichever server accepted it: the servers of
    one process share its descriptor table, so room for one app may have to be made by
    shedding a connection another app holds. All calls run on the loop."""

    def __init__(self, budget: int) -> None:
        #: How many connections the descriptor table has room for (see ``_connections_of``).
        self.budget = budget
        # Waiting for a request head, the longest-waiting first: fd -> (socket, since, gate).
        # A closed socket (fileno() == -1) is a leftover, dropped when met.
        self.waiting: OrderedDict[int, tuple[socket.socket, float, _Gate]] = OrderedDict()
        self.busy: dict[int, tuple[socket.socket, _Gate]] = {}
        # Receiving a request body: fd -> (socket, when a byte last came, gate, protocol).
        self.receiving: dict[int, tuple[socket.socket, float, _Gate, _GatedH11Protocol]] = {}
        # Shut down to make room but not yet closed by their transports (with when): their
        # descriptors come back within a loop iteration or two.
        self.closing: list[tuple[socket.socket, float]] = []

    def __len__(self) -> int:
        return len(self.waiting) + len(self.busy) + len(self.receiving)

    def add(self, fd: int, sock: socket.socket, gate: _Gate) -> None:
        self.forget(fd)  # a number freed and reused: the old entry is stale
        self.waiting[fd] = (sock, time.monotonic(), gate)
        gate.open += 1

    def forget(self, fd: int) -> None:
        entry = self._pop(fd)
        if entry is not None:
            entry[1].open -= 1

    def mark_busy(self, fd: int) -> None:
        entry = self._pop(fd)
        if entry is not None:
            self.busy[fd] = entry

    def mark_receiving(self, fd: int, protocol: _GatedH11Protocol) -> None:
        """A body is coming (called again at each piece of it: the clock restarts)."""
        entry = self._pop(fd)
        if entry is not None:
            self.receiving[fd] = (entry[0], time.monotonic(), entry[1], protocol)

    def mark_waiting(self, fd: int) -> None:
        entry = self._pop(fd)
        if entry is not None:
            self.waiting[fd] = (entry[0], time.monotonic(), entry[1])

    def _pop(self, fd: int) -> tuple[socket.socket, _Gate] | None:
        """Take ``fd`` out of whichever state it is in: (socket, gate), or None if unknown."""
        if fd in self.waiting:
            sock, _, gate = self.waiting.pop(fd)
            return sock, gate
        if fd in self.receiving:
            sock, _, gate, _ = self.receiving.pop(fd)
            return sock, gate
        return self.busy.pop(fd, None)

    def shed(self, of: _Gate | None = None) -> bool:
        """Shut down the longest-waiting connection (``of`` one gate, or of any); False if none."""
        for fd, (sock, _, gate) in list(self.waiting.items()):
            if sock.fileno() == -1:
                self.forget(fd)
            elif of is None or gate is of:
                self.forget(fd)
                self._shut(sock)
                gate.shed += 1
                return True
        return False

    def still_closing(self) -> bool:
        """Whether connections shut down to make room still hold their descriptors."""
        # One that has not closed in a second never will soon: stop waiting for it.
        recent = time.monotonic() - 1.0
        self.closing = [(s, t) for s, t in self.closing if s.fileno() != -1 and t > recent]
        return bool(self.closing)

    def _shut(self, sock: socket.socket) -> None:
        _shut(sock)
        self.closing.append((sock, time.monotonic()))

    def sweep(self) -> None:
        """Shut down connections whose request head or body is overdue; forget closed ones that
        never said goodbye (a WebSocket hands its connection to another protocol)."""
        for fd in [fd for fd, (sock, _) in self.busy.items() if sock.fileno() == -1]:
            self.forget(fd)
        now = time.monotonic()
        for fd, (sock, since, gate, protocol) in list(self.receiving.items()):
            if sock.fileno() == -1:
                self.forget(fd)
            elif protocol.waiting_for_app():  # not the client's time: its clock restarts
                self.receiving[fd] = (sock, now, gate, protocol)
            elif since < now - gate.limits.body_timeout:
                gate.timed_out += 1
                self.forget(fd)
                self._shut(sock)
        for fd, (sock, since, gate) in list(self.waiting.items()):
            if sock.fileno() == -1:
                self.forget(fd)
            elif since < now - gate.limits.head_timeout:
                self.forget(fd)
                self._shut(sock)
                gate.timed_out += 1
            else:
                return  # the rest waited less (one head timeout per process in practice)


_BY_LOOP: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Connections] = (
    weakref.WeakKeyDictionary()
)


def _connections_of(loop: asyncio.AbstractEventLoop, fd_reserve: int) -> _Connections:
    """The loop's record, made by its first server: web connections may then take what the
    descriptor table has left, less ``fd_reserve`` for frames, uploads and the index."""
    if loop not in _BY_LOOP:
        limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        _BY_LOOP[loop] = _Connections(max(limit - fd_reserve - _open_descriptors(), 1))
    return _BY_LOOP[loop]


def _open_descriptors() -> int:
    for listing in ("/proc/self/fd", "/dev/fd"):
        with contextlib.suppress(OSError):
            return len(os.listdir(listing))
    return 0


class _Gate:
    """Which connections one server admits (see the module doc); all calls run on the loop."""

    def __init__(self, limits: ServingLimits, name: str) -> None:
        self.limits = limits
        self.name = name
        self.fd_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        self.connections = _Connections(limits.max_connections)  # the loop's, once started
        self.open = 0
        self.refused = 0
        self.shed = 0  # waiting connections shut down to make room
        self.timed_out = 0
        self._report = LogThrottle(log, limits.log_interval)

    def must_wait(self) -> bool:
        """Leave new connections in the kernel's backlog for now: the table is full counting
        the connections shut down to make room that have not closed yet (asyncio accepts a
        whole backlog in one go, faster than shed connections give their descriptors back)."""
        table = self.connections
        return len(table) >= table.budget and table.still_closing()

    def admit(self, conn: socket.socket) -> bool:
        """Register a just-accepted connection, or say it must be closed."""
        fd = conn.fileno()
        table = self.connections
        table.forget(fd)
        if fd >= self.fd_limit - self.limits.fd_reserve // 2:
            # Linux hands out the lowest free number: everything below this one is taken.
            room = False
            table.shed()
        elif len(table) >= table.budget:  # the table is full: make room, any app's
            room = table.shed()
        elif self.open >= self.limits.max_connections:  # this app is full: make room in it
            room = table.shed(of=self)
        else:
            room = True
        if not room:
            self.refused += 1
            self._report(
                "%s: refusing connections: %d open here, %d of room for %d in all, fd %d of %d "
                "(fd_reserve %d, max_connections %d)",
                self.name,
                self.open,
                len(table),
                table.budget,
                fd,
                self.fd_limit,
                self.limits.fd_reserve,
                self.limits.max_connections,
            )
            return False
        self.connections.add(fd, conn, self)
        return True


def _shut(sock: socket.socket) -> None:
    """End a connection its transport owns: the transport reads EOF and closes it itself."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class _GatedListener(socket.socket):
    """A listening socket whose accept() only returns connections the gate admits."""

    gate: _Gate

    @classmethod
    def wrap(cls, sock: socket.socket, gate: _Gate) -> _GatedListener:
        listener = cls(sock.family, sock.type, sock.proto, fileno=sock.detach())
        listener.gate = gate
        return listener

    def accept(self) -> tuple[socket.socket, Any]:
        # asyncio calls this in a loop until BlockingIOError; refused connections are closed
        # here and the next one in the backlog is tried.
        while True:
            if self.gate.must_wait():
                raise BlockingIOError(errno.EAGAIN, "waiting for shed connections to close")
            conn, addr = super().accept()
            if self.gate.admit(conn):
                return conn, addr
            conn.close()


class _GatedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol telling the gate when a request head has arrived."""

    gate: _Gate
    _fd = -1

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        sock = transport.get_extra_info("socket")
        self._fd = sock.fileno() if sock is not None else -1

    def connection_lost(self, exc: Exception | None) -> None:
        self.gate.connections.forget(self._fd)
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        self._tell_gate()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._tell_gate()

    def _tell_gate(self) -> None:
        state = self.conn.their_state
        if state is h11.IDLE:
            self.gate.connections.mark_waiting(self._fd)
        elif state is h11.SEND_BODY:
            self.gate.connections.mark_receiving(self._fd, self)
        else:
            self.gate.connections.mark_busy(self._fd)

    def waiting_for_app(self) -> bool:
        """Whether the body stopped coming because of us: the app has not read what arrived
        (reading is paused) or not yet asked for an ``Expect: 100-continue`` body."""
        return self.flow.read_paused or self.conn.they_are_waiting_for_100_continue


class _EndStreamsAtStop:
    """ASGI middleware: once the server stops, a response still streaming sees the client
    leave (``http.disconnect``) and its body is ended cleanly, instead of being cancelled
    after ``timeout_graceful_shutdown`` with an error in the log."""

    def __init__(self, app: ASGIApp, stopping: asyncio.Event) -> None:
        self.app = app
        self.stopping = stopping

    async def __call__(
        self,
        scope: Message,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = complete = body_read = False

        async def watched_send(message: Message) -> None:
            nonlocal started, complete
            if message["type"] == "http.response.start":
                started = True
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                complete = True
            await send(message)

        async def watched_receive() -> Message:
            nonlocal body_read
            if not body_read:  # reading the request body: nothing to race
                message = await receive()
                body_read = message["type"] != "http.request" or not message.get("more_body")
                return message
            # Only the client leaving can come now: the server stopping counts as that.
            received = asyncio.ensure_future(receive())
            stopped = asyncio.ensure_future(self.stopping.wait())
            try:
                await asyncio.wait((received, stopped), return_when=asyncio.FIRST_COMPLETED)
            finally:
                received.cancel()
                stopped.cancel()
            if received.done() and not received.cancelled():
                return received.result()
            return {"type": "http.disconnect"}

        await self.app(scope, watched_receive, watched_send)
        if started and not complete and self.stopping.is_set():
            await send({"type": "http.response.body", "body": b"", "more_body": False})


class Server(uvicorn.Server):
    """A uvicorn server with :class:`ServingLimits` kept (see the module doc).

    Serve it on sockets bound beforehand: ``await server.serve(sockets=[sock])``.
    ``handle_signals=False`` leaves SIGINT/SIGTERM to a caller that stops several servers.
    """

    def __init__(
        self,
        app: Any,
        *,
        name: str,
        tls: tuple[Path, Path] | None = None,
        limits: ServingLimits | None = None,
        handle_signals: bool = True,
        log_level: str = "warning",
    ) -> None:
        self.limits = limits or ServingLimits()
        self.gate = _Gate(self.limits, name)
        self._stopping = asyncio.Event()
        self._handle_signals = handle_signals
        protocol = type("GatedH11Protocol", (_GatedH11Protocol,), {"gate": self.gate})
        tls_options = {}
        if tls is not None:
            tls_options = {"ssl_certfile": str(tls[0]), "ssl_keyfile": str(tls[1])}
        config = uvicorn.Config(
            _EndStreamsAtStop(app, self._stopping),
            http=protocol,
            loop="asyncio",  # the gate relies on asyncio calling the listener's accept()
            lifespan="auto",
            log_level=log_level,
            log_config=None,  # yardcam.logs (text or JSON, redacted), not uvicorn's own
            proxy_headers=False,
            timeout_keep_alive=self.limits.keep_alive,
            timeout_graceful_shutdown=self.limits.graceful_shutdown,
            h11_max_incomplete_event_size=self.limits.max_head_bytes,
            **tls_options,  # type: ignore[arg-type]
        )
        super().__init__(config)
        self._sweeper: asyncio.Task[None] | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        if not sockets:
            raise ValueError("Server.serve needs sockets bound beforehand (socket.create_server)")
        await super().serve([_GatedListener.wrap(sock, self.gate) for sock in sockets])

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(_accept_errors_throttled(loop, self.limits.log_interval))
        self.gate.connections = _connections_of(loop, self.limits.fd_reserve)
        # The app is loaded and its lifespan started: what exists now is start-up's.
        gc.collect()
        gc.freeze()  # see the module doc
        await super().startup(sockets)
        self._sweeper = asyncio.create_task(self._sweep())

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._stopping.set()
        if self._sweeper is not None:
            self._sweeper.cancel()
        await super().shutdown(sockets)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if self._handle_signals:
            with super().capture_signals():
                yield
                # The signal that stopped us was handled: a graceful shutdown. uvicorn would
                # raise it again on the way out (a KeyboardInterrupt traceback for Ctrl-C, death
                # by SIGTERM); run() returns instead, and the command exits 0.
                self._captured_signals.clear()
        else:
            yield

    async def _sweep(self) -> None:
        every = min(1.0, self.limits.head_timeout / 4, self.limits.body_timeout / 4)
        while True:
            await asyncio.sleep(every)
            self.gate.connections.sweep()


def _accept_errors_throttled(
    loop: asyncio.AbstractEventLoop, interval: float
) -> Callable[[asyncio.AbstractEventLoop, dict[str, Any]], None]:
    """The loop's exception handler, with asyncio's accept() failures (EMFILE, ENFILE, ENOBUFS:
    one traceback per attempt otherwise) folded into one line per interval."""
    previous = loop.get_exception_handler()
    report = LogThrottle(log, interval)

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if str(context.get("message", "")).startswith("socket.accept() out of system resource"):
            report(
                "web: accept() failed: %s; connections wait in the backlog",
                context.get("exception"),
            )
        elif previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    return handle
