"""The send flow (retries, redirects, cookies) driven by hand: no I/O, every action visible."""

from __future__ import annotations

import datetime

import pytest

from yardcam import requests
from yardcam.requests import Retry
from yardcam.requests._client import Discard, Flow, LoadTLS, Send, Sleep
from yardcam.requests.models import PreparedRequest, Response


def answer(request: PreparedRequest, status: int, *headers: tuple[str, str]) -> Response:
    return Response(
        status_code=status,
        reason="",
        raw_headers=[(k.encode(), v.encode()) for k, v in headers],
        request=request,
        elapsed=datetime.timedelta(0),
        stream=None,
    )


def start(session: requests.Session, method: str, url: str, **kwargs: object) -> tuple[Flow, Send]:
    request, settings = session._split_kwargs(method, url, dict(kwargs))
    flow = session._flow(request, settings)
    first = next(flow)
    assert isinstance(first, Send)
    return flow, first


def finish(flow: Flow, value: object) -> Response:
    with pytest.raises(StopIteration) as stop:
        flow.send(value)
    return stop.value.value  # type: ignore[no-any-return]


def test_retry_after_is_slept_then_the_same_request_is_resent() -> None:
    session = requests.Session(retries=Retry(total=2))
    flow, send = start(session, "GET", "http://cam.local/x")
    first = answer(send.request, 503, ("Retry-After", "4"))
    assert flow.send(first) == Discard(first)
    assert flow.send(None) == Sleep(4.0)
    again = flow.send(None)
    assert isinstance(again, Send) and again.request is send.request
    ok = answer(send.request, 200)
    assert finish(flow, ok) is ok


def test_connect_error_is_retried_for_post_then_given_up() -> None:
    session = requests.Session(retries=Retry(total=1, backoff=requests.Backoff(base=0)))
    flow, _ = start(session, "POST", "http://cam.local/frames", data=b"jpeg")
    refused = requests.ConnectionError("refused")
    refused.connect_failed = True
    assert flow.throw(refused) == Sleep(0.0)
    assert isinstance(flow.send(None), Send)
    with pytest.raises(requests.ConnectionError):
        flow.throw(requests.ConnectionError("refused again"))


def test_303_redirect_becomes_get_and_keeps_history() -> None:
    session = requests.Session()
    flow, send = start(session, "POST", "http://cam.local/frames", data=b"jpeg")
    moved = answer(send.request, 303, ("Location", "/frames/7"), ("Set-Cookie", "sid=1"))
    assert flow.send(moved) == Discard(moved)
    hop = flow.send(None)
    assert isinstance(hop, Send)
    assert (hop.request.method, hop.request.url, hop.request.body) == (
        "GET",
        "http://cam.local/frames/7",
        None,
    )
    assert hop.request.headers["Cookie"] == "sid=1"  # set by the redirect, sent to its target
    final = finish(flow, answer(hop.request, 200))
    assert final.history == [moved]


def test_https_hops_get_a_tls_context_and_http_hops_none() -> None:
    session = requests.Session()
    flow, send = start(session, "GET", "http://cam.local/")
    assert send.ssl_context is None
    flow.send(answer(send.request, 301, ("Location", "https://cam.local/")))
    # Building a context is slow I/O, so the flow asks its runner for it, once per setting.
    load = flow.send(None)
    assert load == LoadTLS(verify=True, cert=None)
    context = session._tls.get(load.verify, load.cert)
    hop = flow.send(context)
    assert isinstance(hop, Send) and hop.ssl_context is context and context.check_hostname
    flow.send(answer(hop.request, 301, ("Location", "https://cam.local/again")))
    again = flow.send(None)  # cached now: no second LoadTLS
    assert isinstance(again, Send) and again.ssl_context is context
