"""Every request keyword of Session and the module functions, against the real echo server."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from pathlib import Path

import pytest
from echo_servers import EchoServer, payload

from yardcam import requests


def sent_headers(response: requests.Response) -> dict[str, str]:
    return {k: v for k, v in response.json()["headers"]}


def test_seed_example_runs_unchanged(echo_server: EchoServer) -> None:
    # The archive example the cam is built around (../shared/seed/cloud-uploads.txt), verbatim.
    url, ts, token = echo_server.url + "/form", 1700000000, "s3cr3t-token"
    jpeg = b"\xff\xd8\xff\xe0" + payload(200_000) + b"\xff\xd9"

    r = requests.post(
        url,
        files={"image": ("frame-{}.jpg".format(ts), io.BytesIO(jpeg))},  # noqa: UP032 - verbatim
        headers={"Authorization": "Bearer " + token},
    )

    assert r.status_code == 200 and r.ok
    got = r.json()
    assert got["authorization"] == "Bearer s3cr3t-token"
    [part] = got["files"]
    assert part["field"] == "image"
    assert part["filename"] == f"frame-{ts}.jpg"
    assert part["size"] == len(jpeg)
    assert part["sha256"] == hashlib.sha256(jpeg).hexdigest()
    assert got["content_length"] is not None and got["transfer_encoding"] is None


@pytest.mark.parametrize("verb", ["get", "head", "options", "post", "put", "patch", "delete"])
def test_every_verb(echo_server: EchoServer, verb: str) -> None:
    r = getattr(requests, verb)(echo_server.url + "/echo")
    assert r.status_code == 200
    if verb == "head":
        assert r.content == b""
        assert int(r.headers["content-length"]) > 0
    else:
        assert r.json()["method"] == verb.upper()
    with requests.Session() as s:
        assert getattr(s, verb)(echo_server.url + "/echo").status_code == 200
        assert s.request(verb.upper(), echo_server.url + "/echo").status_code == 200


def test_params_merge_with_query(echo_server: EchoServer) -> None:
    r = requests.get(echo_server.url + "/echo?a=1", params={"b": ["2", "3"], "skip": None})
    assert r.json()["query"] == [["a", "1"], ["b", "2"], ["b", "3"]]
    assert r.url == echo_server.url + "/echo?a=1&b=2&b=3"


def test_data_forms(echo_server: EchoServer) -> None:
    r = requests.post(echo_server.url + "/form", data={"cam": "yard", "n": 3})
    assert r.json()["fields"] == [["cam", "yard"], ["n", "3"]]
    assert r.json()["content_type"] == "application/x-www-form-urlencoded"
    raw = requests.post(echo_server.url + "/echo", data=b"\x00raw bytes")
    assert raw.json()["body_size"] == 10
    text = requests.put(echo_server.url + "/echo", data="h\u00e9")
    assert text.json()["body_size"] == 3


def test_data_file_and_generator_stream(echo_server: EchoServer, tmp_path: Path) -> None:
    blob = payload(300_000)
    path = tmp_path / "blob.bin"
    path.write_bytes(blob)
    with path.open("rb") as f:
        r = requests.post(echo_server.url + "/echo", data=f)
    assert r.json()["body_sha256"] == hashlib.sha256(blob).hexdigest()
    assert sent_headers(r)["content-length"] == "300000"

    def gen():  # unknown length -> chunked request body
        for i in range(0, len(blob), 70_000):
            yield blob[i : i + 70_000]

    r = requests.post(echo_server.url + "/echo", data=gen())
    assert r.json()["body_sha256"] == hashlib.sha256(blob).hexdigest()
    assert sent_headers(r)["transfer-encoding"] == "chunked"
    assert "content-length" not in sent_headers(r)


def test_json_body(echo_server: EchoServer) -> None:
    r = requests.post(echo_server.url + "/echo", json={"a": [1, "\u00e9"]})
    body = json.dumps({"a": [1, "\u00e9"]}, separators=(",", ":"), ensure_ascii=False).encode()
    assert r.json()["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert sent_headers(r)["content-type"] == "application/json"


def test_files_with_fields_and_list_of_tuples(echo_server: EchoServer) -> None:
    r = requests.post(
        echo_server.url + "/form",
        data={"cam": "yard", "ts": "12.5"},
        files=[
            ("image", ("a.jpg", io.BytesIO(b"AAA"), "image/jpeg", {"X-Part": "1"})),
            ("image", ("b.jpg", b"BB", "image/jpeg")),
            ("note", "plain text"),
            ("bare", io.BytesIO(b"no tuple")),
        ],
    )
    got = r.json()
    assert got["fields"][:2] == [["cam", "yard"], ["ts", "12.5"]]
    files = {f["filename"]: f for f in got["files"]}
    assert files["a.jpg"]["size"] == 3 and files["a.jpg"]["headers"]["x-part"] == "1"
    assert files["b.jpg"]["size"] == 2 and files["b.jpg"]["content_type"] == "image/jpeg"
    sizes = {f["field"]: f["size"] for f in got["files"]}
    assert sizes["bare"] == len(b"no tuple")


def test_bad_files_fail_before_sending(refused_port: int, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{refused_port}/"
    closed = io.BytesIO(b"x")
    closed.close()
    with pytest.raises(requests.InvalidBody):
        requests.post(url, files={"image": ("a.jpg", closed)})
    (tmp_path / "t.txt").write_text("text")
    with (tmp_path / "t.txt").open("r") as text_mode, pytest.raises(requests.InvalidBody):
        requests.post(url, files={"f": text_mode})
    with pytest.raises(requests.InvalidBody):
        requests.post(url, files={"f": object()})


def test_headers_session_and_request_merge(echo_server: EchoServer) -> None:
    with requests.Session(headers={"X-Cam": "yard", "X-Drop": "1"}) as s:
        r = s.get(echo_server.url + "/echo", headers={"X-Frame": "9", "X-Drop": None})
    sent = sent_headers(r)
    assert sent["x-cam"] == "yard" and sent["x-frame"] == "9" and "x-drop" not in sent
    assert sent["user-agent"].startswith("yardcam-requests/")
    assert "gzip" in sent["accept-encoding"]


def test_host_header_can_be_overridden(echo_server: EchoServer) -> None:
    r = requests.get(echo_server.url + "/echo", headers={"Host": "archive.example"})
    assert sent_headers(r)["host"] == "archive.example"


def test_prepare_then_send(echo_server: EchoServer) -> None:
    with requests.Session() as s:
        prepared = s.prepare("post", echo_server.url + "/echo", data=b"abc", params={"q": 1})
        assert prepared.method == "POST" and prepared.url.endswith("/echo?q=1")
        assert prepared.headers["Content-Length"] == "3"
        r = s.send(prepared, timeout=5)
    assert r.json()["body_size"] == 3 and r.json()["query"] == [["q", "1"]]
    with pytest.raises(requests.InvalidRequest):
        requests.request("GET /x", echo_server.url)


def test_auth_basic_bearer_and_callable(echo_server: EchoServer) -> None:
    r = requests.get(echo_server.url + "/echo", auth=("cam", "p\u00e4ss"))
    expected = base64.b64encode("cam:p\u00e4ss".encode()).decode()
    assert sent_headers(r)["authorization"] == f"Basic {expected}"

    r = requests.get(echo_server.url + "/echo", auth=requests.BearerAuth("tok"))
    assert sent_headers(r)["authorization"] == "Bearer tok"

    def signer(request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["X-Signature"] = f"{request.method} {request.url}"
        return request

    r = requests.get(echo_server.url + "/echo", auth=signer)
    assert sent_headers(r)["x-signature"] == f"GET {echo_server.url}/echo"

    with requests.Session(auth=("a", "b")) as s:
        r = s.get(echo_server.url + "/echo")
    assert sent_headers(r)["authorization"].startswith("Basic ")
    with pytest.raises(requests.InvalidRequest):
        requests.get(echo_server.url + "/echo", auth="user:pw")


def test_cookies_per_request_and_jar(echo_server: EchoServer) -> None:
    r = requests.get(echo_server.url + "/echo", cookies={"a": "1"})
    assert r.json()["cookies"] == {"a": "1"}
    with requests.Session() as s:
        r = s.get(echo_server.url + "/set-cookie?sid=abc&theme=dark")
        assert dict(r.cookies) == {"sid": "abc", "theme": "dark"} and r.cookies["sid"] == "abc"
        assert s.cookies["sid"] == "abc"
        r = s.get(echo_server.url + "/echo", cookies={"extra": "x"})
        assert r.json()["cookies"] == {"sid": "abc", "theme": "dark", "extra": "x"}
        # Another host (localhost is not 127.0.0.1) gets no cookies from this jar.
        other = echo_server.url.replace("127.0.0.1", "localhost")
        assert s.get(other + "/echo").json()["cookies"] == {}


def test_response_attributes(echo_server: EchoServer) -> None:
    with requests.get(echo_server.url + "/lines/3") as r:
        assert r.status_code == 200 and r.reason == "OK"
        assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert "content-type" in list(r.headers)  # uvicorn's own spelling, kept
        assert r.encoding == "utf-8"
        assert r.text == "line 0\nline 1\r\nline 2\n"
        assert r.url == echo_server.url + "/lines/3"
        assert r.history == [] and r.elapsed.total_seconds() >= 0
        assert repr(r) == "<Response [200]>"
        r.encoding = "ascii"
        assert r.text.startswith("line 0")


@pytest.mark.parametrize(
    ("code", "reason"), [(404, "Not Found"), (418, "I'm a Teapot"), (503, "Service Unavailable")]
)
def test_error_statuses(echo_server: EchoServer, code: int, reason: str) -> None:
    r = requests.get(f"{echo_server.url}/status/{code}")
    assert r.status_code == code and r.reason == reason and not r.ok
    assert r.text == f"status {code}"
    with pytest.raises(requests.HTTPError) as info:
        r.raise_for_status()
    assert info.value.response is r
    assert str(code) in str(info.value) and isinstance(info.value, OSError)
    requests.get(f"{echo_server.url}/status/204").raise_for_status()


def test_timeout_forms(echo_server: EchoServer) -> None:
    for timeout in (None, 5, 2.5, (3, 10), (None, 10), (3, None)):
        assert requests.get(echo_server.url + "/echo", timeout=timeout).ok
    with requests.Session(timeout=None) as s:
        assert s.get(echo_server.url + "/echo").ok
        assert s.timeout == (None, None)


def test_closed_session_refuses(echo_server: EchoServer) -> None:
    s = requests.Session()
    s.close()
    with pytest.raises(requests.InvalidRequest, match="closed"):
        s.get(echo_server.url + "/echo")


def test_unknown_keyword_is_an_error(echo_server: EchoServer) -> None:
    with pytest.raises(requests.InvalidRequest):
        requests.get(echo_server.url + "/echo", hooks={"response": []})


def test_session_attributes_are_normalised_on_assignment(echo_server: EchoServer) -> None:
    with requests.Session() as s:
        s.headers = {"X-Only": "this"}  # a plain dict becomes case-insensitive Headers
        s.timeout = 7
        s.retries = 2
        assert s.headers["x-only"] == "this" and s.timeout == (7.0, 7.0)
        assert s.retries.total == 2
        sent = sent_headers(s.get(echo_server.url + "/echo"))
        assert sent["x-only"] == "this" and "user-agent" not in sent
        with pytest.raises(requests.InvalidRequest):
            s.timeout = "soon"
        with pytest.raises(requests.InvalidHeader):
            s.headers = {"X-Bad": "a\nb"}
