"""Code written against CPython requests' documented namespaces runs unchanged, against real
servers on 127.0.0.1: errors caught through ``requests.exceptions.*``, statuses compared with
``requests.codes.*``, ``Response.json()`` failing with requests' JSONDecodeError contract."""

from __future__ import annotations

import base64
import http.cookiejar
import importlib
import json
import pickle

import pytest
from echo_servers import EchoServer

import yardcam.requests.exceptions
from yardcam import requests
from yardcam.requests.exceptions import JSONDecodeError, RequestException, Timeout


def test_exceptions_is_a_real_submodule_with_every_exception() -> None:
    assert requests.exceptions is yardcam.requests.exceptions
    for name in requests.exceptions.__all__:
        assert getattr(requests, name) is getattr(requests.exceptions, name)
    # The names requests documents, as far as this client raises them.
    for name in [
        "RequestException",
        "ConnectionError",
        "HTTPError",
        "TooManyRedirects",
        "ConnectTimeout",
        "ReadTimeout",
        "Timeout",
        "JSONDecodeError",
        "InvalidJSONError",
        "ProxyError",
        "SSLError",
        "MissingSchema",
        "InvalidSchema",
        "InvalidURL",
        "InvalidHeader",
        "InvalidProxyURL",
        "ChunkedEncodingError",
        "ContentDecodingError",
        "StreamConsumedError",
        "RetryError",
        "UnrewindableBodyError",
    ]:
        assert issubclass(getattr(requests.exceptions, name), requests.exceptions.RequestException)


def test_every_exception_of_cpython_requests_but_the_absent_ones() -> None:
    import requests.exceptions as theirs  # installed as a benchmark peer

    names = {
        name
        for name, obj in vars(theirs).items()
        if isinstance(obj, type)
        and obj.__module__ == theirs.__name__  # not what it imports (urllib3's, json's)
        and issubclass(obj, Exception)
        and not issubclass(obj, Warning)
    }
    assert names - set(requests.exceptions.__all__) == {"URLRequired"}  # see the module doc


def test_failures_caught_through_requests_exceptions(
    echo_server: EchoServer, refused_port: int
) -> None:
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"http://127.0.0.1:{refused_port}/")
    with pytest.raises(Timeout):
        requests.get(echo_server.url + "/slow?delay=1", timeout=(5, 0.1))
    with pytest.raises(requests.exceptions.MissingSchema):
        requests.get("127.0.0.1/echo")
    response = requests.get(echo_server.url + "/status/404")
    with pytest.raises(requests.exceptions.HTTPError) as info:
        response.raise_for_status()
    assert info.value.response is response


def test_statuses_compared_with_requests_codes(echo_server: EchoServer) -> None:
    assert requests.get(echo_server.url + "/echo").status_code == requests.codes.ok
    assert requests.get(echo_server.url + "/status/404").status_code == requests.codes["not_found"]
    teapot = requests.get(echo_server.url + "/status/418")
    assert teapot.status_code == requests.codes.teapot == requests.codes.IM_A_TEAPOT


def test_json_on_a_bad_body_is_valueerror_and_requestexception(echo_server: EchoServer) -> None:
    response = requests.get(echo_server.url + "/bytes/10")  # not JSON
    with pytest.raises(ValueError) as as_value_error:
        response.json()
    error = as_value_error.value
    assert isinstance(error, JSONDecodeError)
    assert isinstance(error, json.JSONDecodeError) and isinstance(error, RequestException)
    assert isinstance(error, requests.exceptions.InvalidJSONError)
    assert (error.pos, error.lineno, error.colno) == (0, 1, 1)
    assert error.response is response and error.request is response.request
    assert isinstance(error.__cause__, json.JSONDecodeError)
    assert "Expecting value" in str(error)


def test_json_on_bytes_that_are_no_text_is_a_jsondecodeerror(echo_server: EchoServer) -> None:
    response = requests.post(echo_server.url + "/echo")
    response._content = b'{"\xff\xfe\xfd": 1}'  # what a server sending Latin-1 as JSON gives
    with pytest.raises(requests.exceptions.JSONDecodeError, match="not UTF-8/16/32 text"):
        response.json()


def test_jsondecodeerror_pickles() -> None:
    error = pickle.loads(pickle.dumps(JSONDecodeError("Expecting value", "nope", 0)))
    assert isinstance(error, JSONDecodeError) and error.msg == "Expecting value"


def test_unserialisable_json_is_invalidjsonerror_and_invalidbody() -> None:
    with pytest.raises(requests.exceptions.InvalidJSONError) as info:
        requests.post("http://127.0.0.1:9/never-sent", json={"nan": float("nan")})
    assert isinstance(info.value, requests.InvalidBody)


def test_cookies_read_and_set_through_session_cookies(echo_server: EchoServer) -> None:
    with requests.Session() as s:
        s.get(echo_server.url + "/set-cookie?sid=abc")
        assert s.cookies["sid"] == "abc" and s.cookies.get("sid") == "abc"
        s.cookies["theme"] = "dark"
        s.cookies.set("scoped", "1", domain="127.0.0.1", path="/echo")
        s.cookies.set("elsewhere", "x", domain="cam.lan")
        assert s.get(echo_server.url + "/echo").json()["cookies"] == {
            "sid": "abc",
            "theme": "dark",
            "scoped": "1",
        }
        del s.cookies["theme"]
        s.cookies.set("sid", None)
        assert s.get(echo_server.url + "/echo").json()["cookies"] == {"scoped": "1"}
        assert s.cookies.get_dict() == {"scoped": "1", "elsewhere": "x"}


def test_session_cookies_assigned_a_dict_or_updated(echo_server: EchoServer) -> None:
    with requests.Session() as s:
        s.cookies = {"a": "1"}  # type: ignore[assignment]  # requests' idiom: becomes a jar
        s.cookies.update({"b": "2"})
        assert isinstance(s.cookies, http.cookiejar.CookieJar)
        assert s.get(echo_server.url + "/echo").json()["cookies"] == {"a": "1", "b": "2"}


async def test_async_session_cookies_alike(echo_server: EchoServer) -> None:
    async with requests.AsyncSession() as s:
        await s.get(echo_server.url + "/set-cookie?sid=9")
        s.cookies["extra"] = "e"
        r = await s.get(echo_server.url + "/echo")
    assert r.json()["cookies"] == {"sid": "9", "extra": "e"} and s.cookies["sid"] == "9"


def test_the_namespaces_of_cpython_requests_hold_the_names_code_uses() -> None:
    import requests as theirs  # installed as a benchmark peer

    used = {
        "models": {"Request", "PreparedRequest", "Response"},
        "sessions": {"Session", "session"},
        "auth": {"AuthBase", "HTTPBasicAuth"},
        "cookies": {"RequestsCookieJar", "cookiejar_from_dict"},
        "status_codes": {"codes"},
    }
    for module, names in used.items():
        ours = importlib.import_module(f"yardcam.requests.{module}")
        assert getattr(requests, module) is ours
        for name in names:
            assert hasattr(getattr(theirs, module), name), (module, name)  # a real requests name
            assert hasattr(ours, name), (module, name)
    assert requests.status_codes.codes is requests.codes
    assert isinstance(requests.session(), requests.sessions.Session)


def test_a_request_prepared_by_the_session_and_sent(echo_server: EchoServer) -> None:
    with requests.Session(headers={"X-Session": "s"}, auth=("cam", "pw")) as s:
        s.cookies["sid"] = "1"
        request = requests.Request(
            "POST", echo_server.url + "/echo", params={"q": "a b"}, data=b"x"
        )
        prepared = s.prepare_request(request)
        prepared.headers["X-Signed"] = "yes"  # what code prepares requests for: edit, then send
        echoed = s.send(prepared).json()
    headers = dict(echoed["headers"])
    assert echoed["method"] == "POST" and echoed["query"] == [["q", "a b"]]
    assert headers["x-session"] == "s" and headers["x-signed"] == "yes"
    assert headers["authorization"] == "Basic " + base64.b64encode(b"cam:pw").decode()
    assert echoed["cookies"] == {"sid": "1"}
    bare = request.prepare()  # without a session: none of its settings
    assert "authorization" not in bare.headers and "x-session" not in bare.headers
    with pytest.raises(requests.exceptions.InvalidRequest, match="method and a url"):
        requests.Request(url=echo_server.url).prepare()


def test_auth_objects_from_requests_auth(echo_server: EchoServer) -> None:
    class Signed(requests.auth.AuthBase):
        def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
            request.headers["X-Signature"] = request.method + " " + request.url
            return request

    url = echo_server.url + "/echo"
    signed = dict(requests.get(url, auth=Signed()).json()["headers"])
    assert signed["x-signature"] == "GET " + url
    basic = requests.auth.HTTPBasicAuth("cam", "pw")
    assert basic == requests.auth.HTTPBasicAuth("cam", "pw") and "pw" not in repr(basic)
    sent = dict(requests.get(url, auth=basic).json()["headers"])
    assert sent["authorization"] == "Basic " + base64.b64encode(b"cam:pw").decode()


def test_cookiejar_from_dict() -> None:
    jar = requests.cookies.cookiejar_from_dict({"a": "1", "b": "2"})
    assert isinstance(jar, requests.cookies.RequestsCookieJar) and dict(jar) == {"a": "1", "b": "2"}
    requests.cookies.cookiejar_from_dict({"a": "9", "c": "3"}, jar, overwrite=False)
    assert dict(jar) == {"a": "1", "b": "2", "c": "3"}


async def test_an_async_session_sends_a_prepared_request(echo_server: EchoServer) -> None:
    async with requests.AsyncSession(headers={"X-Session": "a"}) as s:
        prepared = s.prepare_request(requests.Request("GET", echo_server.url + "/echo"))
        echoed = (await s.send(prepared)).json()
    assert dict(echoed["headers"])["x-session"] == "a"
