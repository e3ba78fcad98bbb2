"""A fast HTTP/1.1 upload sink for the client benchmark: reads every body, keeps none of it.

Run as ``python benchmarks/_sink.py CERTFILE KEYFILE``; it listens on two 127.0.0.1 ports (plain
and TLS), prints ``READY <http_port> <https_port>`` once both accept connections, and serves
until stdin closes. One blocking thread per connection: recv and TLS decryption run in C with the
GIL released, so the sink costs far less CPU per upload than any client it measures. Requests are
framed by Content-Length or chunked encoding (a minimal parser; this is a benchmark fixture,
not a server), bodies are discarded into one reused buffer, and each upload is answered with a
small 201 JSON on the same keep-alive connection.
"""

from __future__ import annotations

import socket
import ssl
import sys
import threading
from typing import BinaryIO

RESPONSE = (
    b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 24\r\n\r\n"
    b'{"id":"0","status":"ok"}'
)
MAX_LINE = 65536


def serve(listener: socket.socket, tls: ssl.SSLContext | None) -> None:
    while True:
        conn, _ = listener.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=handle, args=(conn, tls), daemon=True).start()


def handle(conn: socket.socket, tls: ssl.SSLContext | None) -> None:
    sink = memoryview(bytearray(1 << 20))
    try:
        if tls is not None:
            conn = tls.wrap_socket(conn, server_side=True)
        with conn, conn.makefile("rb", buffering=MAX_LINE) as rfile:
            while read_request(rfile, sink):
                conn.sendall(RESPONSE)
    except (OSError, ValueError):
        pass  # the client went away or sent garbage: this connection is done


def read_request(rfile: BinaryIO, sink: memoryview) -> bool:
    """Read one request through its body; False when the client closed the connection."""
    if not rfile.readline(MAX_LINE):
        return False
    length, chunked = 0, False
    while (line := rfile.readline(MAX_LINE)) not in (b"\r\n", b"\n", b""):
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
    if not chunked:
        discard(rfile, sink, length)
        return True
    while size := int(rfile.readline(MAX_LINE).split(b";")[0], 16):
        discard(rfile, sink, size + 2)  # the chunk and its CRLF
    while rfile.readline(MAX_LINE) not in (b"\r\n", b"\n", b""):
        pass  # trailers
    return True


def discard(rfile: BinaryIO, sink: memoryview, count: int) -> None:
    while count:
        got = rfile.readinto(sink[: min(count, len(sink))])
        if not got:
            raise ValueError("body cut short")
        count -= got


def main(certfile: str, keyfile: str) -> None:
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(certfile, keyfile)
    plain, secure = (socket.create_server(("127.0.0.1", 0), backlog=128) for _ in range(2))
    for listener, context in ((plain, None), (secure, tls)):
        threading.Thread(target=serve, args=(listener, context), daemon=True).start()
    ports = (plain.getsockname()[1], secure.getsockname()[1])
    print("READY", *ports, flush=True)
    sys.stdin.read()  # the benchmark closes our stdin (or exits) to stop us


if __name__ == "__main__":
    main(*sys.argv[1:3])
