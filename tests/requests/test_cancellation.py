"""A cancelled AsyncSession request closes its connection at once, whatever it was doing.

Each test cancels a request at one point (connect, TLS handshake, sending the body, awaiting
the head, streaming an endless MJPEG-style body), over HTTP and HTTPS against real servers, then
checks that the process holds no socket to the server any more, that nothing went back to the
pool, and that no ``ResourceWarning`` surfaces when the garbage is collected (warnings are errors).
"""

from __future__ import annotations

import asyncio
import gc
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import psutil
import pytest
from echo_servers import raw_server, sockets_to
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from serving import Running, TLSFiles, serve
from yardcam.requests import AsyncSession

#: Long enough never to fire during a test; cancellation is what ends each request.
PATIENT = (30.0, 30.0)


@dataclass
class Reached:
    """Per-tag events the server sets when a request gets to a given point."""

    events: dict[str, threading.Event] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def event(self, tag: str) -> threading.Event:
        with self.lock:
            return self.events.setdefault(tag, threading.Event())

    async def wait(self, tag: str) -> None:
        assert await asyncio.to_thread(self.event(tag).wait, 10), f"{tag} never arrived"


def make_app(reached: Reached) -> Starlette:
    async def endless(request: Request) -> StreamingResponse:
        async def frames() -> AsyncIterator[bytes]:
            frame = b"--frame\r\nContent-Type: image/jpeg\r\n\r\n" + b"\xff" * 20_000 + b"\r\n"
            while True:  # until the client goes away, as a camera preview does
                yield frame
                await asyncio.sleep(0.005)

        reached.event(request.query_params["tag"]).set()
        return StreamingResponse(frames(), media_type="multipart/x-mixed-replace;boundary=frame")

    async def stall(request: Request) -> Response:
        reached.event(request.query_params["tag"]).set()
        while (await request.receive())["type"] != "http.disconnect":
            pass  # never answers; ends when the client hangs up
        return Response(status_code=204)

    async def sink(request: Request) -> Response:
        try:
            async for block in request.stream():
                if block:
                    reached.event(request.query_params["tag"]).set()
        except ClientDisconnect:
            pass
        return Response(status_code=204)

    return Starlette(
        routes=[
            Route("/endless", endless),
            Route("/stall", stall),
            Route("/sink", sink, methods=["POST"]),
        ]
    )


@dataclass
class Servers:
    reached: Reached
    running: dict[str, Running]  # by scheme


@pytest.fixture(scope="module")
def servers(tls_files: TLSFiles) -> Iterator[Servers]:
    reached = Reached()
    app = make_app(reached)
    with serve(app) as plain, serve(app, tls_files) as tls:
        yield Servers(reached, {"http": plain, "https": tls})


async def cancel_when(request: Awaitable[object], reached: Callable[[], Awaitable[object]]) -> None:
    task = asyncio.ensure_future(request)
    await reached()
    assert not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def assert_all_closed(session: AsyncSession, port: int) -> None:
    assert session._pool.idle_count() == 0  # a cancelled request never gives its connection back
    await session.close()
    # The close completes within a loop iteration or two; poll, never sleep blind.
    for _ in range(200):
        if not sockets_to(port):
            break
        await asyncio.sleep(0.01)
    assert sockets_to(port) == []
    gc.collect()  # any unclosed transport or socket warns here, and warnings are errors


def patient_session(tls_files: TLSFiles) -> AsyncSession:
    """Trusts the test CA (for the https cases) and never times out first."""
    return AsyncSession(verify=str(tls_files.ca_pem), timeout=PATIENT)


@pytest.mark.parametrize("scheme", ["http", "https"])
async def test_cancel_while_streaming_the_body(
    servers: Servers, tls_files: TLSFiles, scheme: str
) -> None:
    server = servers.running[scheme]
    tag = f"stream-{scheme}"
    session = patient_session(tls_files)
    frames = asyncio.Event()

    async def watch() -> None:
        r = await session.get(f"{server.url}/endless?tag={tag}", stream=True)
        async for _ in r.aiter_content(4096):
            frames.set()

    await cancel_when(watch(), frames.wait)
    await assert_all_closed(session, server.port)


@pytest.mark.parametrize("scheme", ["http", "https"])
async def test_cancel_while_awaiting_the_head(
    servers: Servers, tls_files: TLSFiles, scheme: str
) -> None:
    server = servers.running[scheme]
    tag = f"head-{scheme}"
    session = patient_session(tls_files)
    await cancel_when(
        session.get(f"{server.url}/stall?tag={tag}", stream=True),
        lambda: servers.reached.wait(tag),
    )
    await assert_all_closed(session, server.port)


@pytest.mark.parametrize("scheme", ["http", "https"])
async def test_cancel_while_sending_the_body(
    servers: Servers, tls_files: TLSFiles, scheme: str
) -> None:
    server = servers.running[scheme]
    tag = f"send-{scheme}"
    session = patient_session(tls_files)

    async def body() -> AsyncIterator[bytes]:
        yield b"x" * 300_000  # over the TLS hold-back limit, so the server sees it
        await asyncio.Event().wait()  # a camera that stops producing mid-upload

    await cancel_when(
        session.post(f"{server.url}/sink?tag={tag}", data=body()),
        lambda: servers.reached.wait(tag),
    )
    await assert_all_closed(session, server.port)


async def test_cancel_during_the_tls_handshake(tls_files: TLSFiles) -> None:
    hello = threading.Event()

    def never_answers(conn: socket.socket, index: int) -> None:
        while conn.recv(65536):  # the ClientHello, then EOF when the client drops
            hello.set()

    with raw_server(never_answers) as server:
        session = patient_session(tls_files)

        async def said_hello() -> None:
            assert await asyncio.to_thread(hello.wait, 10)

        url = f"https://127.0.0.1:{server.port}/"
        await cancel_when(session.get(url), said_hello)
        await assert_all_closed(session, server.port)


@pytest.mark.parametrize("scheme", ["http", "https"])
async def test_cancel_while_connecting(
    full_backlog_port: int, tls_files: TLSFiles, scheme: str
) -> None:
    session = patient_session(tls_files)
    before = {c.laddr for c in sockets_to(full_backlog_port)}

    async def connecting() -> None:
        while not any(
            c.status == psutil.CONN_SYN_SENT and c.laddr not in before
            for c in sockets_to(full_backlog_port)
        ):
            await asyncio.sleep(0.01)

    await cancel_when(session.get(f"{scheme}://127.0.0.1:{full_backlog_port}/"), connecting)
    assert session._pool.idle_count() == 0
    await session.close()
    assert {c.laddr for c in sockets_to(full_backlog_port)} <= before
    gc.collect()


@pytest.mark.parametrize("between_frames", [False, True], ids=["reading", "between-frames"])
@pytest.mark.parametrize("scheme", ["http", "https"])
def test_loop_ending_right_after_the_cancel(
    servers: Servers, tls_files: TLSFiles, scheme: str, between_frames: bool
) -> None:
    # The reported case: a viewer task is cancelled and the program's event loop ends. Cancelled
    # between two frames, the body iterator is left suspended and only finalised as the loop
    # shuts down; a polite TLS close started then never finished before the loop was closed.
    server = servers.running[scheme]

    async def main() -> None:
        async with patient_session(tls_files) as session:
            frames = asyncio.Event()

            async def watch() -> None:
                r = await session.get(f"{server.url}/endless?tag=run-{scheme}", stream=True)
                async for _ in r.aiter_content(4096):
                    frames.set()
                    if between_frames:
                        await asyncio.Event().wait()  # busy with the frame when cancelled

            await cancel_when(watch(), frames.wait)

    asyncio.run(main())
    gc.collect()  # any unclosed transport or socket warns here, and warnings are errors
    assert sockets_to(server.port) == []
