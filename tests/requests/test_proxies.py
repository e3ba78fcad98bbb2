"""Proxies: https through CONNECT, http in absolute-form, credentials, NO_PROXY, the environment.

Every behaviour runs for Session and AsyncSession against a real forward proxy
(``proxy_server.py``) in front of the real echo servers; the proxy's log says what it saw.
"""

from __future__ import annotations

import asyncio
import base64
import errno
import gc
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from echo_servers import EchoServer, sockets_to
from proxy_server import ForwardProxy

from serving import TLSFiles
from yardcam import requests
from yardcam.requests._proxies import Proxy, environment_proxies, parse_proxy, select_proxy
from yardcam.requests._urls import parse_url

_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")

Call = str | tuple[str, dict[str, Any]]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy settings from the machine running the tests leak into them."""
    for name in _VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.delenv("REQUEST_METHOD", raising=False)


@pytest.fixture
def proxy() -> Iterator[ForwardProxy]:
    with ForwardProxy() as running:
        yield running


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def fetch(kind: str, *calls: Call, **session_settings: Any) -> list[requests.Response]:
    """GET each call's URL in turn on one Session or AsyncSession, closed afterwards."""
    pairs = [(c, {}) if isinstance(c, str) else c for c in calls]
    if kind == "sync":
        with requests.Session(**session_settings) as s:
            return [s.get(url, **kwargs) for url, kwargs in pairs]

    async def run() -> list[requests.Response]:
        async with requests.AsyncSession(**session_settings) as s:
            return [await s.get(url, **kwargs) for url, kwargs in pairs]

    try:
        return asyncio.run(run())
    finally:
        gc.collect()  # a transport left unclosed (on any error path) warns now: warnings are errors


def header(response: requests.Response, name: str) -> list[str]:
    """The values of ``name`` the echo server received."""
    return [v for n, v in response.json()["headers"] if n.lower() == name]


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# -- https: a CONNECT tunnel, TLS end to end ---------------------------------------------------
def test_https_goes_through_one_verified_tunnel(
    kind: str, proxy: ForwardProxy, tls_echo_server: EchoServer, tls_files: TLSFiles
) -> None:
    url = tls_echo_server.url + "/echo"
    first, second = fetch(
        kind, url, url + "?n=2", verify=tls_files.ca_pem, proxies={"https": proxy.url}
    )
    assert first.ok and second.json()["query"] == [["n", "2"]]
    origin = tls_echo_server.url.removeprefix("https://")
    log = proxy.log()
    assert log.request_lines == [f"CONNECT {origin}"]  # the second request reused the tunnel
    assert log.connections == 1 and log.connects == 1
    assert header(first, "host") == [origin]
    assert header(first, "proxy-authorization") == []


def test_wrong_ca_still_fails_through_the_tunnel(
    kind: str, proxy: ForwardProxy, tls_echo_server: EchoServer, tmp_path: Path
) -> None:
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    with pytest.raises(requests.SSLError, match="certificate verification failed") as info:
        fetch(kind, tls_echo_server.url + "/echo", verify=other, proxies={"https": proxy.url})
    assert not isinstance(info.value, requests.ProxyError)  # the origin's certificate is bad
    assert "via proxy 127.0.0.1" in str(info.value)
    assert proxy.log().connects == 1


# -- http: absolute-form to a forwarding proxy ---------------------------------------------------
def test_http_is_sent_in_absolute_form(
    kind: str, proxy: ForwardProxy, echo_server: EchoServer
) -> None:
    url = echo_server.url + "/echo?q=a%20b"
    first, second = fetch(kind, url, url, proxies={"http": proxy.url})
    assert first.json()["query"] == [["q", "a b"]] and second.ok
    log = proxy.log()
    assert log.request_lines == [f"GET {url}"] * 2
    assert log.connections == 1  # one kept-alive connection to the proxy for both
    assert header(first, "host") == [echo_server.url.removeprefix("http://")]


def test_upload_through_a_forwarding_proxy(proxy: ForwardProxy, echo_server: EchoServer) -> None:
    body = b"\xff\xd8" + bytes(range(256)) * 400
    with requests.Session(proxies={"http": proxy.url}) as s:
        got = s.post(echo_server.url + "/echo", data=body).json()
    assert got["body_size"] == len(body) and got["method"] == "POST"
    assert proxy.log().request_lines == [f"POST {echo_server.url}/echo"]


# -- credentials -------------------------------------------------------------------------------
def test_credentials_come_from_the_proxy_url(
    kind: str, echo_server: EchoServer, tls_echo_server: EchoServer, tls_files: TLSFiles
) -> None:
    with ForwardProxy(("cam", "p@ss:wörd")) as proxy:
        with_userinfo = proxy.url.replace("://", "://cam:p%40ss%3Aw%C3%B6rd@")
        proxies = {"http": with_userinfo, "https": with_userinfo}
        tunnelled, forwarded = fetch(
            kind,
            tls_echo_server.url + "/echo",
            echo_server.url + "/echo",
            verify=tls_files.ca_pem,
            proxies=proxies,
        )
    assert tunnelled.ok and forwarded.ok
    assert proxy.log().authorizations == [basic("cam", "p@ss:wörd")] * 2
    assert header(tunnelled, "proxy-authorization") == []  # never sent inside the tunnel


def test_refused_connect_is_a_proxy_error(
    kind: str, tls_echo_server: EchoServer, tls_files: TLSFiles
) -> None:
    with ForwardProxy(("cam", "secret")) as proxy, pytest.raises(requests.ProxyError) as info:
        fetch(kind, tls_echo_server.url, verify=tls_files.ca_pem, proxies={"https": proxy.url})
    origin = tls_echo_server.url.removeprefix("https://")
    assert str(info.value) == (
        f"proxy 127.0.0.1:{proxy.port} refused CONNECT to {origin}:"
        " 407 Proxy Authentication Required"
    )
    assert isinstance(info.value, OSError) and info.value.connect_failed
    assert proxy.log().authorizations == [None]


def test_forwarding_proxy_407_is_a_response(kind: str, echo_server: EchoServer) -> None:
    # As in requests: only a refused tunnel is an error; a forwarded request gets its answer.
    with ForwardProxy(("cam", "secret")) as proxy:
        [r] = fetch(kind, echo_server.url + "/echo", proxies={"http": proxy.url + "/"})
    assert r.status_code == 407 and r.headers["proxy-authenticate"].startswith("Basic")


# -- which requests go through the proxy ----------------------------------------------------------
def test_no_proxy_is_reached_directly(
    kind: str, proxy: ForwardProxy, tls_echo_server: EchoServer, tls_files: TLSFiles
) -> None:
    port = tls_echo_server.url.rsplit(":", 1)[1]
    for no_proxy in ("127.0.0.1", f"127.0.0.1:{port}", "example.com, 127.0.0.1", "*"):
        proxies = {"https": proxy.url, "no_proxy": no_proxy}
        [r] = fetch(kind, tls_echo_server.url + "/echo", verify=tls_files.ca_pem, proxies=proxies)
        assert r.ok
    assert proxy.log().connections == 0
    # Another port of the same host is not covered by a host:port entry.
    proxies = {"https": proxy.url, "no_proxy": "127.0.0.1:1"}
    fetch(kind, tls_echo_server.url + "/echo", verify=tls_files.ca_pem, proxies=proxies)
    assert proxy.log().connects == 1


def test_environment_is_trusted_by_default(
    kind: str,
    proxy: ForwardProxy,
    tls_echo_server: EchoServer,
    tls_files: TLSFiles,
    monkeypatch: pytest.MonkeyPatch,
    refused_port: int,
) -> None:
    url, ca = tls_echo_server.url + "/echo", tls_files.ca_pem
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{refused_port}")
    monkeypatch.setenv("https_proxy", proxy.url)  # lower case wins, as in urllib and requests
    assert fetch(kind, url, verify=ca)[0].ok
    assert proxy.log().connects == 1
    assert fetch(kind, url, verify=ca, trust_env=False)[0].ok
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    assert fetch(kind, url, verify=ca)[0].ok
    assert proxy.log().connects == 1  # neither went through the proxy


def test_all_proxy_and_session_settings_win_over_the_environment(
    proxy: ForwardProxy, echo_server: EchoServer, monkeypatch: pytest.MonkeyPatch, refused_port: int
) -> None:
    monkeypatch.setenv("ALL_PROXY", proxy.url)
    assert requests.get(echo_server.url + "/echo").ok  # module functions read it too
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{refused_port}")
    with requests.Session() as s:
        s.proxies["http"] = proxy.url
        assert s.get(echo_server.url + "/echo").ok
        assert s.get(echo_server.url + "/echo", proxies={"no_proxy": "*"}).ok  # direct
    assert proxy.log().request_lines == [f"GET {echo_server.url}/echo"] * 2


def test_redirect_hops_choose_their_own_proxy(
    kind: str,
    proxy: ForwardProxy,
    echo_server: EchoServer,
    tls_echo_server: EchoServer,
    tls_files: TLSFiles,
) -> None:
    target = tls_echo_server.url + "/echo"
    start = f"{echo_server.url}/redirect/302?to={target}"
    [r] = fetch(
        kind, (start, {"proxies": {"http": proxy.url}}), verify=tls_files.ca_pem
    )  # only http is proxied: the https hop goes direct
    assert r.ok and r.url == target and len(r.history) == 1
    assert proxy.log().request_lines == [f"GET {echo_server.url}/redirect/302?to={target}"]


def test_different_proxies_never_share_a_connection(
    kind: str, tls_echo_server: EchoServer, tls_files: TLSFiles
) -> None:
    url = tls_echo_server.url + "/echo"
    with ForwardProxy() as a, ForwardProxy() as b:
        calls = [(url, {"proxies": {"https": p.url}}) for p in (a, b, a, b)]
        fetch(kind, *calls, url, verify=tls_files.ca_pem)
    assert a.log().connects == 1 and b.log().connects == 1


# -- failures ------------------------------------------------------------------------------------
@pytest.mark.parametrize("scheme", ["http", "https"])
def test_unreachable_proxy_is_a_proxy_error(
    kind: str, scheme: str, refused_port: int, echo_server: EchoServer, tls_echo_server: EchoServer
) -> None:
    url = (echo_server if scheme == "http" else tls_echo_server).url
    proxies = {scheme: f"http://127.0.0.1:{refused_port}"}
    with pytest.raises(requests.ProxyError) as info:
        fetch(kind, url, proxies=proxies, verify=False)
    assert isinstance(info.value, OSError) and info.value.errno == errno.ECONNREFUSED
    assert f"proxy 127.0.0.1:{refused_port}" in str(info.value) and info.value.connect_failed


def test_silent_proxy_is_a_connect_timeout(
    kind: str, tls_echo_server: EchoServer, tls_files: TLSFiles
) -> None:
    with ForwardProxy(hold_connect=True) as proxy, pytest.raises(requests.ProxyError) as info:
        fetch(
            kind,
            tls_echo_server.url,
            verify=tls_files.ca_pem,
            proxies={"https": proxy.url},
            timeout=(0.2, 30),
        )
    assert isinstance(info.value, requests.ConnectTimeout)
    assert info.value.errno == errno.ETIMEDOUT
    assert proxy.log().request_lines == [f"CONNECT {tls_echo_server.url.removeprefix('https://')}"]


def test_proxy_not_accepting_is_a_connect_timeout(
    kind: str, full_backlog_port: int, echo_server: EchoServer
) -> None:
    proxies = {"http": f"http://127.0.0.1:{full_backlog_port}"}
    with pytest.raises(requests.ProxyConnectTimeout) as info:
        fetch(kind, echo_server.url, proxies=proxies, timeout=(0.2, 30))
    assert isinstance(info.value, requests.ProxyError | requests.ConnectTimeout)
    assert info.value.errno == errno.ETIMEDOUT and info.value.connect_failed
    assert f"timed out connecting to proxy 127.0.0.1:{full_backlog_port}" in str(info.value)


@pytest.mark.parametrize(
    "proxy_url", ["https://user:s3cret@proxy.lan:3129", "socks5://user:s3cret@127.0.0.1:1080"]
)
def test_only_http_proxies_are_supported(
    kind: str, proxy_url: str, tls_echo_server: EchoServer
) -> None:
    with pytest.raises(requests.InvalidProxyURL, match=r"only http:// proxies") as info:
        fetch(kind, tls_echo_server.url, proxies={"https": proxy_url})
    assert isinstance(info.value, requests.InvalidURL) and isinstance(info.value, ValueError)
    assert "s3cret" not in str(info.value)


def test_bad_proxies_values_are_misuse(echo_server: EchoServer) -> None:
    with pytest.raises(requests.InvalidRequest, match="mapping"):
        requests.get(echo_server.url, proxies="http://proxy:3128")
    for bad in ("http://", "http://proxy:port", "http://pro xy:3128"):
        with pytest.raises(requests.InvalidProxyURL):
            requests.get(echo_server.url, proxies={"http": bad})


# -- cancellation: no socket left behind, no ResourceWarning -------------------------------------
async def assert_no_socket_to(port: int) -> None:
    for _ in range(200):  # the abort completes within a loop iteration or two
        if not sockets_to(port):
            break
        await asyncio.sleep(0.01)
    assert sockets_to(port) == []
    gc.collect()  # an unclosed transport warns here, and warnings are errors


async def test_cancel_while_the_proxy_holds_connect(
    tls_echo_server: EchoServer, tls_files: TLSFiles
) -> None:
    with ForwardProxy(hold_connect=True) as proxy:
        async with requests.AsyncSession(
            verify=str(tls_files.ca_pem), proxies={"https": proxy.url}, timeout=30
        ) as s:
            task = asyncio.ensure_future(s.get(tls_echo_server.url))
            while not proxy.log().request_lines:
                await asyncio.sleep(0.01)  # polls the proxy's log: the CONNECT arrived
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert s._pool.idle_count() == 0
        await assert_no_socket_to(proxy.port)


async def test_cancel_during_the_tls_handshake_in_the_tunnel(
    proxy: ForwardProxy, silent_port: int, tls_files: TLSFiles
) -> None:
    async with requests.AsyncSession(
        verify=str(tls_files.ca_pem), proxies={"https": proxy.url}, timeout=30
    ) as s:
        task = asyncio.ensure_future(s.get(f"https://127.0.0.1:{silent_port}/"))
        while not proxy.log().connects:
            await asyncio.sleep(0.01)  # the tunnel is open: the handshake is what waits now
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    await assert_no_socket_to(proxy.port)


# -- selection, without I/O ----------------------------------------------------------------------
def test_environment_reading_matches_urllib(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://upper:1")
    monkeypatch.setenv("HTTPS_PROXY", "http://upper:2")
    monkeypatch.setenv("https_proxy", "")  # an empty lower-case variable unsets the upper one
    monkeypatch.setenv("all_proxy", "http://lower:3")
    monkeypatch.setenv("NO_PROXY", "cam.lan")
    ours = environment_proxies()
    theirs = urllib.request.getproxies_environment()
    assert ours == {"http": "http://upper:1", "all": "http://lower:3", "no_proxy": "cam.lan"}
    assert ours == {("no_proxy" if k == "no" else k): v for k, v in theirs.items()}
    monkeypatch.setenv("REQUEST_METHOD", "GET")  # CGI: HTTP_PROXY may come from a client header
    assert "http" not in environment_proxies()


def test_most_specific_key_wins() -> None:
    proxies = {
        "all": "http://every:1",
        "https": "http://tls:2",
        "https://cam.lan": "http://cam:3",
        "all://nvr.lan": "http://nvr:4",
    }

    def chosen(url: str) -> str | None:
        found = select_proxy(parse_url(url), proxies, trust_env=False)
        return found and found.host

    assert chosen("https://cam.lan/x") == "cam"
    assert chosen("https://other.lan/x") == "tls"
    assert chosen("http://nvr.lan/x") == "nvr"
    assert chosen("http://other.lan/x") == "every"
    no_proxy = {**proxies, "no_proxy": ".lan"}  # a domain suffix, leading dot or not
    assert select_proxy(parse_url("https://cam.lan/"), no_proxy, trust_env=False) is None
    assert select_proxy(parse_url("https://lan.example/"), no_proxy, trust_env=False)


def test_proxy_urls_are_parsed_like_requests_does() -> None:
    assert parse_proxy("proxy.lan:3128") == Proxy("proxy.lan", 3128)
    assert parse_proxy("http://PROXY.lan") == Proxy("proxy.lan", 80)
    with_auth = parse_proxy("http://cam%201:p%3Aw@proxy.lan:3128/")
    assert with_auth.authorization == basic("cam 1", "p:w")
    assert with_auth != Proxy("proxy.lan", 3128)  # never shares the anonymous connections
    assert "p:w" not in repr(with_auth) and "cam" not in repr(with_auth)
