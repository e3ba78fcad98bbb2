"""Redirects: method rewriting, body resend, Authorization across hosts, the cap, history."""

from __future__ import annotations

import hashlib
import io
import socket

import pytest
from echo_servers import EchoServer, payload, raw_server, read_request_head

from yardcam import requests


def hop(server: EchoServer, code: int, to: str) -> str:
    return f"{server.url}/redirect/{code}?to={to}"


def test_history_and_final_url(echo_server: EchoServer) -> None:
    r = requests.get(echo_server.url + "/chain/3?x=1")
    assert r.status_code == 200 and r.url == echo_server.url + "/echo?x=1"
    assert [h.status_code for h in r.history] == [302, 302, 302]
    assert r.history[0].url == echo_server.url + "/chain/3?x=1"
    assert r.json()["query"] == [["x", "1"]]


@pytest.mark.parametrize("code", [301, 302, 303])
def test_post_becomes_get_without_body(echo_server: EchoServer, code: int) -> None:
    r = requests.post(hop(echo_server, code, "/echo"), data=b"frame bytes")
    got = r.json()
    assert got["method"] == "GET" and got["body_size"] == 0
    sent = {k for k, _ in got["headers"]}
    assert "content-length" not in sent and "content-type" not in sent


def test_303_turns_put_into_get_but_302_keeps_it(echo_server: EchoServer) -> None:
    assert requests.put(hop(echo_server, 303, "/echo"), data=b"x").json()["method"] == "GET"
    kept = requests.put(hop(echo_server, 302, "/echo"), data=b"xy").json()
    assert kept["method"] == "PUT" and kept["body_size"] == 2


@pytest.mark.parametrize("code", [307, 308])
def test_307_308_resend_method_and_body(echo_server: EchoServer, code: int) -> None:
    blob = payload(150_000)
    r = requests.post(
        hop(echo_server, code, "/form"),
        files={"image": ("f.jpg", io.BytesIO(blob), "image/jpeg")},
        data={"cam": "yard"},
    )
    got = r.json()
    assert got["fields"] == [["cam", "yard"]]
    assert got["files"][0]["sha256"] == hashlib.sha256(blob).hexdigest()
    assert r.history[0].status_code == code


def test_307_with_a_generator_body_cannot_be_replayed(echo_server: EchoServer) -> None:
    with pytest.raises(requests.UnrewindableBodyError):
        requests.post(hop(echo_server, 307, "/echo"), data=(b for b in [b"once"]))


def test_authorization_kept_on_same_host_dropped_on_other(echo_server: EchoServer) -> None:
    bearer = {"Authorization": "Bearer secret"}
    same = requests.get(hop(echo_server, 302, "/echo"), headers=bearer).json()
    assert ["authorization", "Bearer secret"] in same["headers"]
    other = echo_server.url.replace("127.0.0.1", "localhost") + "/echo"
    moved = requests.get(hop(echo_server, 302, other), headers=bearer, auth=None).json()
    assert "authorization" not in {k for k, _ in moved["headers"]}
    assert moved["headers"][0] == ["host", other.split("/")[2]]


def test_allow_redirects_false_returns_the_redirect(echo_server: EchoServer) -> None:
    r = requests.get(hop(echo_server, 302, "/echo"), allow_redirects=False)
    assert r.status_code == 302 and r.is_redirect and r.headers["location"] == "/echo"
    assert requests.head(hop(echo_server, 302, "/echo")).status_code == 302


def test_too_many_redirects(echo_server: EchoServer) -> None:
    with requests.Session() as s:
        s.max_redirects = 2
        with pytest.raises(requests.TooManyRedirects) as info:
            s.get(echo_server.url + "/chain/5")
        assert info.value.response is not None and info.value.response.status_code == 302
        assert s.get(echo_server.url + "/chain/2").ok


def test_redirect_to_unsupported_scheme(echo_server: EchoServer) -> None:
    with pytest.raises(requests.InvalidSchema):
        requests.get(hop(echo_server, 302, "ftp://example.com/x"))


def test_redirect_hops_reuse_the_connection(echo_server: EchoServer) -> None:
    with requests.Session() as s:
        s.get(echo_server.url + "/chain/4?tag=redirect-reuse")
    assert len(echo_server.state.ports("redirect-reuse")) == 1


def test_cookie_set_by_a_redirect_is_sent_to_the_target() -> None:
    def handler(conn: socket.socket, index: int) -> None:
        while head := read_request_head(conn):
            if head.startswith(b"GET /login"):
                conn.sendall(
                    b"HTTP/1.1 302 Found\r\nLocation: /home\r\nSet-Cookie: sid=42; Path=/\r\n"
                    b"Content-Length: 0\r\n\r\n"
                )
            else:
                cookie = b"yes" if b"Cookie: sid=42" in head else b"no"
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n" + cookie)

    with raw_server(handler) as server, requests.Session() as s:
        assert s.get(server.url + "/login").text == "yes"
