"""The retry policy: decisions as pure functions, and against real servers."""

from __future__ import annotations

import email.utils
import io
import itertools
import socket
import uuid

import pytest
from echo_servers import EchoServer, raw_server, read_request_head

from yardcam import requests
from yardcam.requests import Backoff, Retry, parse_retry_after
from yardcam.requests._retry import MAX_RETRY_AFTER, RetryState

FAST = Retry(total=3, backoff=Backoff(base=0.001))
NOW = Retry(total=2, backoff=Backoff(base=0))


def key() -> str:
    return uuid.uuid4().hex


def test_waits_come_from_the_backoff() -> None:
    state = RetryState(Retry(total=5, backoff=Backoff(base=0.5, cap=3)))
    delays = [state.delay_after_error(requests.ReadTimeout("t"), "GET", {}) for _ in range(4)]
    for delay, ceiling in zip(delays, [0.5, 1.0, 2.0, 3.0], strict=True):
        assert delay is not None and ceiling / 2 <= delay <= ceiling


def test_status_decisions() -> None:
    state = RetryState(NOW)
    assert state.delay_after_status(200, None, "GET", {}) is None
    assert state.delay_after_status(500, None, "GET", {}) is None  # not in the retry statuses
    assert state.delay_after_status(503, "7", "GET", {}) == 7.0  # Retry-After wins
    assert state.delay_after_status(429, None, "POST", {}) is None  # not idempotent, no key
    assert state.delay_after_status(429, None, "POST", {"Idempotency-Key": "k"}) == 0
    assert state.delay_after_status(503, None, "GET", {}) is None  # exhausted
    assert state.exhausted_on_status(503)
    # Longer than the backoff's cap: give the response back instead of sleeping a minute.
    assert (
        RetryState(Retry(backoff=Backoff(cap=10))).delay_after_status(503, "60", "GET", {}) is None
    )
    ignoring = RetryState(Retry(backoff=Backoff(base=0), respect_retry_after=False))
    assert ignoring.delay_after_status(503, "60", "GET", {}) == 0


def test_error_decisions() -> None:
    state = RetryState(Retry(total=5, backoff=Backoff(base=0)))
    refused = requests.ConnectionError("refused")
    refused.connect_failed = True
    assert state.delay_after_error(refused, "POST", {}) == 0  # nothing reached the server
    assert state.delay_after_error(requests.ReadTimeout("t"), "POST", {}) is None
    assert state.delay_after_error(requests.ReadTimeout("t"), "GET", {}) == 0
    assert state.delay_after_error(requests.ReadTimeout("t"), "POST", {"Idempotency-Key": "1"}) == 0
    assert state.delay_after_error(requests.ConnectionError("reset"), "PATCH", {}) is None
    assert state.delay_after_error(requests.SSLError("bad cert"), "GET", {}) is None
    assert state.delay_after_error(requests.InvalidURL("x"), "GET", {}) is None


def test_retry_after_forms_and_cap() -> None:
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after(" 12 ") == 12.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    date = email.utils.formatdate(1_000_030, usegmt=True)
    assert parse_retry_after(date, now=1_000_000) == 30.0
    assert parse_retry_after("99999999") == MAX_RETRY_AFTER  # a typo must not park work for years
    assert parse_retry_after(email.utils.formatdate(10**10, usegmt=True)) == MAX_RETRY_AFTER
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 -0000") is None  # no zone: not a date
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-5") is None
    assert parse_retry_after("") is None
    assert parse_retry_after(None) is None


def test_get_is_retried_on_503_honouring_retry_after(echo_server: EchoServer) -> None:
    k = key()
    r = requests.get(f"{echo_server.url}/flaky/{k}?fail=2&retry_after=0", retries=FAST)
    assert r.status_code == 200 and r.json()["calls"] == 3
    assert echo_server.state.calls(k) == 3


def test_exhausted_retries_return_the_last_response(echo_server: EchoServer) -> None:
    k = key()
    r = requests.get(f"{echo_server.url}/flaky/{k}?fail=10&status=502", retries=FAST)
    assert r.status_code == 502 and echo_server.state.calls(k) == 4
    strict = Retry(total=1, backoff=Backoff(base=0), raise_on_status=True)
    with pytest.raises(requests.RetryError) as info:
        requests.get(f"{echo_server.url}/flaky/{key()}?fail=10&status=429", retries=strict)
    assert info.value.response is not None and info.value.response.status_code == 429


def test_post_without_idempotency_key_is_not_retried(echo_server: EchoServer) -> None:
    k = key()
    r = requests.post(f"{echo_server.url}/flaky/{k}?fail=1", data=b"frame", retries=FAST)
    assert r.status_code == 503 and echo_server.state.calls(k) == 1


def test_post_with_idempotency_key_is_retried_with_the_body_rewound(
    echo_server: EchoServer,
) -> None:
    k = key()
    with requests.Session(retries=FAST) as s:
        r = s.post(
            f"{echo_server.url}/flaky/{k}?fail=2&retry_after=0",
            files={"image": ("f.jpg", io.BytesIO(b"jpeg" * 1000))},
            headers={"Idempotency-Key": "frame-7"},
        )
    assert r.status_code == 200 and r.json() == {"calls": 3, "idempotency_key": "frame-7"}


def test_long_retry_after_returns_the_response(echo_server: EchoServer) -> None:
    k = key()
    policy = Retry(total=3, backoff=Backoff(base=0, cap=5))
    r = requests.get(f"{echo_server.url}/flaky/{k}?fail=1&retry_after=3600", retries=policy)
    assert r.status_code == 503 and r.headers["retry-after"] == "3600"
    assert echo_server.state.calls(k) == 1


def test_connect_errors_are_retried_then_raised(refused_port: int) -> None:
    with pytest.raises(requests.ConnectionError) as info:
        requests.post(f"http://127.0.0.1:{refused_port}/", data=b"x", retries=FAST)
    assert info.value.connect_failed


def test_read_failures_retried_for_get_only() -> None:
    counter = itertools.count()

    def drop_first(conn: socket.socket, index: int) -> None:
        read_request_head(conn)
        if next(counter) > 0:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    with raw_server(drop_first) as server:
        assert requests.get(server.url, retries=FAST).text == "ok"
        assert server.connections == 2

    counter = itertools.count()
    with raw_server(drop_first) as server:
        with pytest.raises(requests.ConnectionError):
            requests.post(server.url, data=b"x", retries=FAST)
        assert server.connections == 1


def test_no_retries_by_default(echo_server: EchoServer) -> None:
    k = key()
    assert requests.get(f"{echo_server.url}/flaky/{k}?fail=1").status_code == 503
    assert echo_server.state.calls(k) == 1
    with pytest.raises(requests.InvalidRequest):
        requests.get(echo_server.url, retries="3")
