"""A request without ``timeout=`` still times out: the default is applied on every path.

The seed's rule: "a camera must never hang on a dead network". A default that exists as an
attribute but never reaches the socket would pass an attribute check, so these tests really hang:
a listener whose accept queue is full (connecting never completes) and a server that accepts,
reads the request and never answers. Every client shape is run at once, in its own thread, with
nothing but the URL (and a body), so the whole test costs one default read timeout (30 s), not
one per client. Without a default, the connects would end only at the kernel's SYN retry limit
(~2 min) and the reads never: each thread is given the default plus a margin, then the test fails.
"""

from __future__ import annotations

import asyncio
import errno
import io
import threading
import time
from collections.abc import Callable

from yardcam import requests

MARGIN = 20.0  # seconds past the default before a client counts as hung (a loaded CI box)


def test_the_default_is_the_documented_one() -> None:
    assert requests.TimeoutConfig(connect=5.0, read=30.0) == requests.DEFAULT_TIMEOUT
    assert requests.Session().timeout == requests.DEFAULT_TIMEOUT
    assert requests.AsyncSession().timeout == requests.DEFAULT_TIMEOUT


def _clients(url: str) -> dict[str, Callable[[], object]]:
    """Each way a caller can send a request, none given a timeout."""

    async def async_get() -> object:
        async with requests.AsyncSession() as s:
            return await s.get(url)

    async def async_post() -> object:
        async with requests.AsyncSession() as s:
            return await s.post(url, files={"image": ("f.jpg", io.BytesIO(b"\xff\xd8jpeg"))})

    def session_get() -> object:
        with requests.Session() as s:
            return s.get(url)

    return {
        "requests.get": lambda: requests.get(url),
        "requests.post(files=)": lambda: requests.post(
            url, files={"image": ("f.jpg", io.BytesIO(b"\xff\xd8jpeg"))}
        ),
        "Session.get": session_get,
        "AsyncSession.get": lambda: asyncio.run(async_get()),
        "AsyncSession.post(files=)": lambda: asyncio.run(async_post()),
    }


def _outcomes(clients: dict[str, Callable[[], object]], wait: float) -> dict[str, object]:
    """Run every client at once; each one's exception, its result, or "hung"."""
    outcomes: dict[str, object] = {}

    def run(name: str, call: Callable[[], object]) -> None:
        try:
            outcomes[name] = call()
        except BaseException as exc:
            outcomes[name] = exc

    threads = [
        threading.Thread(target=run, args=item, daemon=True, name=item[0])
        for item in clients.items()
    ]
    for t in threads:
        t.start()
    deadline = time.monotonic() + wait
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    return {name: outcomes.get(name, "hung") for name in clients}


def test_no_timeout_argument_still_times_out(full_backlog_port: int, silent_port: int) -> None:
    """Connecting to a full backlog ends in ConnectTimeout, waiting on a silent server in
    ReadTimeout, both with ETIMEDOUT, for every client shape, all at once."""
    connect = _clients(f"http://127.0.0.1:{full_backlog_port}/frames")
    read = _clients(f"http://127.0.0.1:{silent_port}/frames")
    clients = {f"connect {k}": v for k, v in connect.items()} | {
        f"read {k}": v for k, v in read.items()
    }
    wait = requests.DEFAULT_TIMEOUT.read + MARGIN  # type: ignore[operator]
    for name, outcome in _outcomes(clients, wait).items():
        expected = requests.ConnectTimeout if name.startswith("connect") else requests.ReadTimeout
        assert isinstance(outcome, expected), f"{name}: {outcome!r}"
        assert outcome.errno == errno.ETIMEDOUT, name
