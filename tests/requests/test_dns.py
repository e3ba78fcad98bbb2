"""The DNS lookup counts against the connect timeout, in both transports.

A nameserver that never answers cannot be set up here for one test host (the resolver's
configuration is the whole machine's), so the transports take the resolver as a parameter and
these tests pass one that hangs until the test releases it: with the lookup outside the timeout
they would connect once released instead of raising ConnectTimeout.
"""

from __future__ import annotations

import errno
import socket
import threading
from collections.abc import Sequence

import pytest
from echo_servers import EchoServer

from yardcam import requests
from yardcam.requests._async_transport import AsyncTransport
from yardcam.requests._config import TimeoutConfig
from yardcam.requests._dns import AddrInfo, getaddrinfo
from yardcam.requests._pool import Pool
from yardcam.requests._sync_transport import SyncTransport

QUICK = TimeoutConfig(connect=0.2, read=5.0)


class HangingResolver:
    """Answers (with 127.0.0.1) only once released, like a nameserver that went away."""

    def __init__(self) -> None:
        self.released = threading.Event()
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> Sequence[AddrInfo]:
        self.asked.append(host)
        self.released.wait(30)
        return getaddrinfo("127.0.0.1", port)


def refused_first(host: str, port: int) -> Sequence[AddrInfo]:
    """127.0.0.2 (nothing listens there) before 127.0.0.1: the second address must be tried."""
    return [*getaddrinfo("127.0.0.2", port), *getaddrinfo("127.0.0.1", port)]


def unknown(host: str, port: int) -> Sequence[AddrInfo]:
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


def get(url: str) -> requests.PreparedRequest:
    return requests.Session().prepare("GET", url)


def test_sync_lookup_that_hangs_is_a_connect_timeout(echo_server: EchoServer) -> None:
    resolver = HangingResolver()
    transport = SyncTransport(Pool(1), resolve=resolver)
    url = echo_server.url.replace("127.0.0.1", "archive.test") + "/echo"
    try:
        with pytest.raises(requests.ConnectTimeout) as info:
            transport.send(get(url), QUICK, None)
    finally:
        resolver.released.set()
    assert resolver.asked == ["archive.test"]
    assert info.value.errno == errno.ETIMEDOUT and info.value.connect_failed
    assert "no DNS answer for archive.test" in str(info.value.__cause__)


async def test_async_lookup_that_hangs_is_a_connect_timeout(echo_server: EchoServer) -> None:
    resolver = HangingResolver()
    transport = AsyncTransport(Pool(1), resolve=resolver)
    url = echo_server.url.replace("127.0.0.1", "archive.test") + "/echo"
    try:
        with pytest.raises(requests.ConnectTimeout) as info:
            await transport.send(get(url), QUICK, None)
    finally:
        resolver.released.set()
    assert resolver.asked == ["archive.test"]
    assert info.value.errno == errno.ETIMEDOUT and info.value.connect_failed


def test_sync_tries_each_address_and_reports_unknown_names(echo_server: EchoServer) -> None:
    url = echo_server.url.replace("127.0.0.1", "archive.test") + "/echo"
    response = SyncTransport(Pool(1), resolve=refused_first).send(get(url), QUICK, None)
    assert response.status_code == 200
    response.close()
    with pytest.raises(requests.ConnectionError, match="cannot resolve") as info:
        SyncTransport(Pool(1), resolve=unknown).send(get(url), QUICK, None)
    assert info.value.connect_failed


async def test_async_tries_each_address_and_reports_unknown_names(echo_server: EchoServer) -> None:
    url = echo_server.url.replace("127.0.0.1", "archive.test") + "/echo"
    response = await AsyncTransport(Pool(1), resolve=refused_first).send(get(url), QUICK, None)
    assert response.status_code == 200
    await response.aclose()
    with pytest.raises(requests.ConnectionError, match="cannot resolve") as info:
        await AsyncTransport(Pool(1), resolve=unknown).send(get(url), QUICK, None)
    assert info.value.connect_failed


async def test_the_system_resolver_in_both_sessions(echo_server: EchoServer) -> None:
    url = echo_server.url.replace("127.0.0.1", "localhost") + "/echo"  # a name, looked up
    assert requests.get(url).status_code == requests.codes.ok
    async with requests.AsyncSession() as s:
        assert (await s.get(url)).status_code == requests.codes.ok
