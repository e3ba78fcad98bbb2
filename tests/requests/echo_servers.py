"""Real servers for the yardcam.requests tests: an in-process Starlette echo app on uvicorn
(HTTP and HTTPS), plus tiny raw-socket servers for the behaviours a correct server never shows.

The echo app reports what it received so tests assert on the server's view:

- ``/echo`` (any method): method, path, query pairs, headers, cookies, body size + sha256
  (the body is hashed as it streams in, never held whole).
- ``/form``: multipart or urlencoded form parsed by Starlette/python-multipart: fields and file
  parts (filename, content type, size, sha256, part headers).
- ``/status/{code}``: that status; ``?retry_after=`` adds a Retry-After header.
- ``/redirect/{code}?to=URL`` and ``/chain/{n}`` (n hops, then /echo).
- ``/flaky/{key}?fail=N&status=503&retry_after=S``: the first N calls for ``key`` fail.
- ``/bytes/{n}``: n deterministic bytes with Content-Length; ``/chunked/{n}``: the same bytes
  streamed with Transfer-Encoding: chunked; ``/lines/{n}``: n text lines, chunked.
- ``/encoded/{coding}/{n}``: those bytes with Content-Encoding gzip, deflate, br or zstd.
- ``/set-cookie?name=value&path=/...``: sets the cookies given in the query.
- ``/slow?delay=S``: answers after S seconds.
- ``/close``: answers with ``Connection: close``.
- ``/reject``: answers 413 without reading the request body.

Every request's client port is recorded per ``?tag=`` value: ``state.ports("t")`` is the set of
TCP connections the server saw for requests tagged ``t`` (pooling tests count them); over HTTP,
``/connections/{tag}`` answers ``{"connections": n}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import socket
import threading
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import brotli
import psutil
import zstandard
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


def payload(n: int) -> bytes:
    """The deterministic bytes the /bytes, /chunked and /encoded endpoints send."""
    pattern = bytes(range(256)) * 4
    return (pattern * (n // len(pattern) + 1))[:n]


@dataclass
class EchoState:
    """What the echo app saw, shared with the tests (the server runs in-process)."""

    tag_ports: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    flaky_calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ports(self, tag: str) -> set[int]:
        with self.lock:
            return set(self.tag_ports[tag])

    def calls(self, key: str) -> int:
        with self.lock:
            return self.flaky_calls[key]


def make_echo_app(state: EchoState) -> Starlette:
    def record(request: Request) -> None:
        tag = request.query_params.get("tag")
        if tag and request.client:
            with state.lock:
                state.tag_ports[tag].add(request.client.port)

    async def echo(request: Request) -> Response:
        record(request)
        digest, size = hashlib.sha256(), 0
        async for chunk in request.stream():
            digest.update(chunk)
            size += len(chunk)
        return JSONResponse(
            {
                "method": request.method,
                "path": request.url.path,
                "query": list(request.query_params.multi_items()),
                "headers": [
                    [k.decode("latin-1"), v.decode("latin-1")] for k, v in request.headers.raw
                ],
                "cookies": dict(request.cookies),
                "body_size": size,
                "body_sha256": digest.hexdigest(),
                "http_version": request.scope.get("http_version"),
            }
        )

    async def form(request: Request) -> Response:
        record(request)
        fields: list[list[str]] = []
        files: list[dict[str, object]] = []
        async with request.form(max_files=100, max_fields=100) as parsed:
            for name, value in parsed.multi_items():
                if isinstance(value, UploadFile):
                    data = await value.read()
                    files.append(
                        {
                            "field": name,
                            "filename": value.filename,
                            "content_type": value.content_type,
                            "size": len(data),
                            "sha256": hashlib.sha256(data).hexdigest(),
                            "headers": dict(value.headers),
                        }
                    )
                else:
                    fields.append([name, value])
        return JSONResponse(
            {
                "content_type": request.headers.get("content-type"),
                "authorization": request.headers.get("authorization"),
                "transfer_encoding": request.headers.get("transfer-encoding"),
                "content_length": request.headers.get("content-length"),
                "fields": fields,
                "files": files,
            }
        )

    async def status(request: Request) -> Response:
        record(request)
        code = int(request.path_params["code"])
        headers = {}
        if "retry_after" in request.query_params:
            headers["Retry-After"] = request.query_params["retry_after"]
        return Response(f"status {code}".encode(), status_code=code, headers=headers)

    async def redirect(request: Request) -> Response:
        record(request)
        await request.body()
        code = int(request.path_params["code"])
        return Response(b"", status_code=code, headers={"Location": request.query_params["to"]})

    async def chain(request: Request) -> Response:
        record(request)
        n = int(request.path_params["n"])
        location = f"/chain/{n - 1}" if n > 1 else "/echo"
        query = request.url.query
        return Response(
            b"moved",
            status_code=302,
            headers={"Location": f"{location}?{query}" if query else location},
        )

    async def flaky(request: Request) -> Response:
        record(request)
        await request.body()
        key = request.path_params["key"]
        with state.lock:
            state.flaky_calls[key] += 1
            calls = state.flaky_calls[key]
        if calls <= int(request.query_params.get("fail", "1")):
            headers = {}
            if "retry_after" in request.query_params:
                headers["Retry-After"] = request.query_params["retry_after"]
            code = int(request.query_params.get("status", "503"))
            return Response(b"try again", status_code=code, headers=headers)
        return JSONResponse(
            {"calls": calls, "idempotency_key": request.headers.get("idempotency-key")}
        )

    async def sized(request: Request) -> Response:
        record(request)
        return Response(
            payload(int(request.path_params["n"])), media_type="application/octet-stream"
        )

    async def chunked(request: Request) -> Response:
        record(request)
        data = payload(int(request.path_params["n"]))

        async def blocks() -> object:
            for i in range(0, len(data), 10_000):
                yield data[i : i + 10_000]

        return StreamingResponse(blocks(), media_type="application/octet-stream")

    async def lines(request: Request) -> Response:
        record(request)
        n = int(request.path_params["n"])

        async def gen() -> object:
            for i in range(n):
                yield f"line {i}\r\n" if i % 2 else f"line {i}\n"

        return StreamingResponse(gen(), media_type="text/plain; charset=utf-8")

    async def encoded(request: Request) -> Response:
        record(request)
        coding, data = request.path_params["coding"], payload(int(request.path_params["n"]))
        compress: dict[str, Callable[[bytes], bytes]] = {
            "gzip": gzip.compress,
            "deflate": zlib.compress,
            "br": brotli.compress,
            "zstd": zstandard.ZstdCompressor().compress,
        }
        return Response(compress[coding](data), headers={"Content-Encoding": coding})

    async def set_cookie(request: Request) -> Response:
        record(request)
        response = JSONResponse({"ok": True})
        path = request.query_params.get("path", "/")
        for name, value in request.query_params.multi_items():
            if name not in ("path", "tag"):
                response.set_cookie(name, value, path=path)
        return response

    async def slow(request: Request) -> Response:
        record(request)
        await asyncio.sleep(float(request.query_params.get("delay", "1")))
        return Response(b"finally")

    async def connections(request: Request) -> Response:
        return JSONResponse({"connections": len(state.ports(request.path_params["tag"]))})

    async def reject(request: Request) -> Response:
        record(request)  # answers without reading the body, like a 401/413 from an archive
        return JSONResponse({"error": "too large"}, status_code=413)

    async def close(request: Request) -> Response:
        record(request)
        return Response(b"bye", headers={"Connection": "close"})

    any_method = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    return Starlette(
        routes=[
            Route("/echo", echo, methods=any_method),
            Route("/form", form, methods=["POST", "PUT"]),
            Route("/status/{code:int}", status, methods=any_method),
            Route("/redirect/{code:int}", redirect, methods=any_method),
            Route("/chain/{n:int}", chain, methods=any_method),
            Route("/flaky/{key}", flaky, methods=any_method),
            Route("/bytes/{n:int}", sized, methods=["GET", "HEAD"]),
            Route("/chunked/{n:int}", chunked),
            Route("/lines/{n:int}", lines),
            Route("/encoded/{coding}/{n:int}", encoded),
            Route("/set-cookie", set_cookie),
            Route("/slow", slow),
            Route("/close", close),
            Route("/reject", reject, methods=["POST", "PUT"]),
            Route("/connections/{tag}", connections),
        ]
    )


@dataclass
class EchoServer:
    url: str
    state: EchoState


@dataclass
class RawServer:
    port: int
    connections: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextlib.contextmanager
def raw_server(handle: Callable[[socket.socket, int], None]) -> Iterator[RawServer]:
    """Serve each accepted connection with ``handle(conn, index)`` in a thread (HTTP by hand)."""
    listener = socket.create_server(("127.0.0.1", 0))
    server = RawServer(listener.getsockname()[1])
    threads: list[threading.Thread] = []
    stopping = threading.Event()

    def accept_loop() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            if stopping.is_set():
                conn.close()
                return
            server.connections += 1
            t = threading.Thread(target=_handle_one, args=(handle, conn, server.connections - 1))
            t.start()
            threads.append(t)

    acceptor = threading.Thread(target=accept_loop, daemon=True)
    acceptor.start()
    try:
        yield server
    finally:
        stopping.set()
        # close() does not wake a thread blocked in accept(); one last connection does.
        socket.create_connection(("127.0.0.1", server.port)).close()
        acceptor.join(timeout=5)
        listener.close()
        for t in threads:
            t.join(timeout=5)


def _handle_one(
    handle: Callable[[socket.socket, int], None], conn: socket.socket, index: int
) -> None:
    with conn, contextlib.suppress(OSError):
        handle(conn, index)


def read_request_head(conn: socket.socket) -> bytes:
    """Read up to the blank line ending a request head (the tests send no bodies here)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    return data


def sockets_to(port: int) -> list[Any]:
    """This process's open sockets whose peer is ``port`` on 127.0.0.1."""
    return [c for c in psutil.Process().net_connections("tcp") if c.raddr and c.raddr[1] == port]
