"""Keep-alive pooling, observed from the server side."""

from __future__ import annotations

import socket
import ssl
import threading

from echo_servers import EchoServer, raw_server, read_request_head

from serving import TLSFiles
from yardcam import requests
from yardcam.requests._pool import Pool

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def test_session_reuses_one_connection(echo_server: EchoServer) -> None:
    with requests.Session() as s:
        for _ in range(5):
            s.post(echo_server.url + "/echo?tag=reuse", data=b"x" * 1000)
        assert s._pool.idle_count() == 1
    assert len(echo_server.state.ports("reuse")) == 1
    assert requests.get(echo_server.url + "/connections/reuse").json() == {"connections": 1}


def test_https_reuses_one_connection(tls_echo_server: EchoServer, tls_files: TLSFiles) -> None:
    with requests.Session(verify=str(tls_files.ca_pem)) as s:
        for _ in range(4):
            assert s.get(tls_echo_server.url + "/echo?tag=tls-reuse").ok
    assert len(tls_echo_server.state.ports("tls-reuse")) == 1


def test_module_functions_do_not_share_connections(echo_server: EchoServer) -> None:
    for _ in range(3):
        requests.get(echo_server.url + "/echo?tag=oneshot")
    assert len(echo_server.state.ports("oneshot")) == 3


def test_connection_close_and_errors_are_not_reused(echo_server: EchoServer) -> None:
    with requests.Session() as s:
        s.get(echo_server.url + "/close?tag=close")
        s.get(echo_server.url + "/close?tag=close")
        assert s._pool.idle_count() == 0
        s.get(echo_server.url + "/echo?tag=close")
    assert len(echo_server.state.ports("close")) == 3


def test_a_timed_out_connection_is_never_reused(echo_server: EchoServer) -> None:
    with requests.Session() as s:
        try:
            s.get(echo_server.url + "/slow?delay=0.5&tag=timeout", timeout=(5, 0.05))
        except requests.ReadTimeout:
            pass
        else:
            raise AssertionError("expected a read timeout")
        s.get(echo_server.url + "/echo?tag=timeout")
    assert len(echo_server.state.ports("timeout")) == 2


def test_threads_share_a_session_safely(echo_server: EchoServer) -> None:
    errors: list[BaseException] = []
    with requests.Session(pool_maxsize=4) as s:

        def work() -> None:
            try:
                for _ in range(10):
                    assert s.get(echo_server.url + "/echo?tag=threads").ok
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert s._pool.idle_count() <= 4  # bounded
    assert not errors
    assert len(echo_server.state.ports("threads")) < 30  # 60 requests, far fewer connections


def test_stale_pooled_connection_is_replaced_once() -> None:
    """The server closes each connection after one response, without saying so."""
    served = []

    def one_per_connection(conn: socket.socket, index: int) -> None:
        read_request_head(conn)
        conn.sendall(OK)
        served.append(index)
        read_request_head(conn)  # the next request on this connection: hang up unanswered

    with raw_server(one_per_connection) as server, requests.Session() as s:
        for _ in range(3):
            assert s.get(server.url).text == "ok"
    assert server.connections == 3 and served == [0, 1, 2]


def test_pool_is_bounded_and_closes_surplus() -> None:
    closed: list[int] = []

    class Conn:
        def __init__(self, n: int) -> None:
            self.n = n

        def close(self) -> None:
            closed.append(self.n)

        def is_dropped(self) -> bool:
            return self.n == 99

    pool: Pool[Conn] = Pool(maxsize=2)
    for n in (1, 2, 3):
        pool.give("k", Conn(n))
    assert closed == [3] and pool.idle_count("k") == 2
    assert pool.take("k").n == 2  # most recently used first
    pool.give("k", Conn(99))
    assert pool.take("k").n == 1 and closed == [3, 99]  # a dropped one is skipped and closed
    assert pool.take("other") is None
    pool.close()
    pool.give("k", Conn(4))
    assert closed == [3, 99, 4]


def test_tls_connection_closed_by_the_server_while_idle(tls_files: TLSFiles) -> None:
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(str(tls_files.cert_pem), str(tls_files.key_pem))

    def answer_then_close(conn: socket.socket, index: int) -> None:
        with server_ctx.wrap_socket(conn, server_side=True) as tls:
            read_request_head(tls)
            tls.sendall(OK)
            tls.unwrap()  # close_notify, then the socket closes: the pooled connection is stale

    with (
        raw_server(answer_then_close) as server,
        requests.Session(verify=str(tls_files.ca_pem)) as s,
    ):
        url = server.url.replace("http://", "https://")
        assert s.get(url).text == "ok"
        assert s.get(url).text == "ok"
    assert server.connections == 2
