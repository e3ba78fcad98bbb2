"""POST /frames on both stacks: success, idempotency, and every refusal."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import AsyncGenerator
from pathlib import Path

import pytest
from python_multipart.multipart import parse_options_header
from starlette.requests import Request

from archive.helpers import (
    MULTIPART_TYPE,
    Node,
    make_jpeg,
    make_settings,
    raw_multipart,
    raw_upload_head,
)
from yardcam import requests
from yardcam.archive._api import _BASE_URLS, _BASE_URLS_MAX, _base_url
from yardcam.archive._errors import ApiError
from yardcam.archive._ingest import MULTIPART_OVERHEAD, _form_data_name, receive_upload
from yardcam.archive.storage import blob_key, new_frame_id, open_blob_store


def upload(
    node: Node,
    jpeg: bytes,
    *,
    token: str | None = None,
    key: str | None = None,
    fields: dict[str, str] | None = None,
    filename: str = "frame-1.jpg",
) -> requests.Response:
    headers = {}
    if key is not None:
        headers["Idempotency-Key"] = key
    data = {"cam": "yard", "ts": "1700000000.5", "seq": "7", "change": "3.25"}
    data.update(fields or {})
    return requests.post(
        f"{node.url}/frames",
        data={k: v for k, v in data.items() if v is not None},
        files={"image": (filename, jpeg, "image/jpeg")},
        headers=headers,
        auth=requests.BearerAuth(token if token is not None else node.upload),
    )


def listed(node: Node) -> list[dict]:
    r = requests.get(f"{node.url}/frames", auth=requests.BearerAuth(node.read))
    assert r.status_code == 200
    return r.json()["frames"]


def test_upload_stores_frame(node: Node, jpeg: bytes) -> None:
    r = upload(node, jpeg, key="f-1")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["cam"] == "yard"
    assert body["ts"] == 1700000000.5
    assert body["seq"] == 7
    assert body["change"] == 3.25
    assert body["size"] == len(jpeg)
    assert body["sha256"] == hashlib.sha256(jpeg).hexdigest()
    assert body["url"] == f"{node.url}/frames/{body['id']}"
    assert r.headers["Location"] == body["url"]
    got = requests.get(body["url"], auth=requests.BearerAuth(node.read))
    assert got.content == jpeg
    assert [f["id"] for f in listed(node)] == [body["id"]]


def test_the_motion_event_id_is_kept(node: Node, jpeg: bytes) -> None:
    r = upload(node, jpeg, key="e-1", fields={"event": "1700000000400-3"})
    assert r.status_code == 201, r.text
    assert r.json()["event"] == "1700000000400-3"
    assert listed(node)[0]["event"] == "1700000000400-3"
    assert upload(node, jpeg, key="e-2").json()["event"] is None  # sent without one
    bad = upload(node, jpeg, key="e-3", fields={"event": "../x"})
    assert bad.status_code == 400 and "motion event id" in bad.text


def test_repeat_idempotency_key_returns_same_id(node: Node, jpeg: bytes) -> None:
    first = upload(node, jpeg, key="same")
    again = upload(node, make_jpeg(seed=9), key="same")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["sha256"] == first.json()["sha256"]
    assert len(listed(node)) == 1
    other = upload(node, jpeg, key="other")
    assert other.status_code == 201
    assert len(listed(node)) == 2


def test_same_key_on_two_cams_are_two_frames(node: Node, jpeg: bytes) -> None:
    assert upload(node, jpeg, key="k").status_code == 201
    porch = node.token("porch")
    r = upload(node, jpeg, key="k", token=porch, fields={"cam": "porch"})
    assert r.status_code == 201
    assert len(listed(node)) == 2


def test_without_key_and_fields_uses_server_time(node: Node, jpeg: bytes) -> None:
    r = requests.post(
        f"{node.url}/frames",
        files={"image": ("x.jpg", jpeg)},
        auth=requests.BearerAuth(node.upload),
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["cam"] == "yard"
    assert body["seq"] is None
    assert abs(body["ts"] - body["received"]) < 1e-6


def test_admin_token_uploads_for_named_cam(node: Node, jpeg: bytes) -> None:
    r = upload(node, jpeg, token=node.admin, fields={"cam": "garage"})
    assert r.status_code == 201, r.text
    assert r.json()["cam"] == "garage"


def test_client_filename_never_becomes_a_path(node: Node, jpeg: bytes) -> None:
    r = upload(node, jpeg, filename="../../../etc/evil.jpg")
    assert r.status_code == 201, r.text
    if node.settings.blobs.startswith("file://"):
        names = [p.name for p in node.settings.data_dir.rglob("*") if p.is_file()]
        assert not any("evil" in n for n in names)
        assert f"{r.json()['id']}.jpg" in names


@pytest.mark.parametrize(
    ("auth", "status"),
    [(None, 401), ("yc_nope_nope", 401), ("Basic", 401)],
)
def test_missing_or_unknown_token_is_401(node: Node, jpeg: bytes, auth, status) -> None:
    headers = (
        {}
        if auth is None
        else {"Authorization": f"Bearer {auth}" if auth != "Basic" else "Basic Zm9vOmJhcg=="}
    )
    r = requests.post(f"{node.url}/frames", files={"image": jpeg}, headers=headers)
    assert r.status_code == status
    assert "error" in r.json()
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_read_token_cannot_upload(node: Node, jpeg: bytes) -> None:
    r = upload(node, jpeg, token=node.read)
    assert r.status_code == 403
    assert "scope" in r.json()["error"]


def test_token_for_another_cam_is_403(node: Node, jpeg: bytes) -> None:
    r = upload(node, jpeg, fields={"cam": "porch"})
    assert r.status_code == 403
    assert "porch" in r.json()["error"]
    assert listed(node) == []


def test_not_a_jpeg_is_415(node: Node) -> None:
    r = upload(node, b"GIF89a" + b"\0" * 5000, filename="cat.jpg")
    assert r.status_code == 415
    assert "JPEG" in r.json()["error"]
    assert listed(node) == []


def test_truncated_jpeg_is_415(node: Node, jpeg: bytes) -> None:
    r = upload(node, jpeg[: len(jpeg) // 2])
    assert r.status_code == 415
    assert "truncated" in r.json()["error"]


def test_the_frame_under_another_part_name_is_told_where_it_goes(node: Node, jpeg: bytes) -> None:
    # curl -F file=@frame.jpg: the classic slip, answered with the part name to use.
    r = requests.post(
        f"{node.url}/frames",
        files={"file": ("frame.jpg", jpeg, "image/jpeg")},
        auth=requests.BearerAuth(node.upload),
    )
    assert r.status_code == 400
    assert r.json()["error"].startswith("part 'file' is a file: send the JPEG as the 'image' part")
    assert listed(node) == []


def test_not_multipart_is_415(node: Node, jpeg: bytes) -> None:
    r = requests.post(
        f"{node.url}/frames",
        data=jpeg,
        headers={"Content-Type": "image/jpeg"},
        auth=requests.BearerAuth(node.upload),
    )
    assert r.status_code == 415


@pytest.mark.parametrize(
    "body",
    [
        b"--b\r\nContent-Disposition: form-data; name=image\r\n\r\n\xff\xd8\xff\xe0",  # no end
        b"garbage without any boundary",
        b"--b\r\nNo-Colon-Header\r\n\r\nx\r\n--b--\r\n",
        b"--b\r\nContent-Disposition: form-data; name=cam\r\n\r\nyard\r\n--b--\r\n",  # no image
    ],
)
def test_malformed_multipart_is_400(node: Node, body: bytes) -> None:
    r = requests.post(
        f"{node.url}/frames",
        data=body,
        headers={"Content-Type": "multipart/form-data; boundary=b"},
        auth=requests.BearerAuth(node.upload),
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"]


@pytest.mark.parametrize(
    ("fields", "word"),
    [({"ts": "yesterday"}, "ts"), ({"seq": "1.5"}, "seq"), ({"change": "nan"}, "change")],
)
def test_bad_field_is_400_and_stores_nothing(node: Node, jpeg: bytes, fields, word) -> None:
    r = upload(node, jpeg, fields=fields)
    assert r.status_code == 400
    assert word in r.json()["error"]
    assert listed(node) == []


def test_bad_idempotency_key_is_400(node: Node, jpeg: bytes) -> None:
    assert upload(node, jpeg, key="has space").status_code == 400
    assert upload(node, jpeg, key="x" * 129).status_code == 400


def test_oversized_image_is_413(node: Node) -> None:
    limit = node.settings.max_frame_bytes
    big = make_jpeg(1600, 1200, noise=True)
    assert len(big) > limit
    r = upload(node, big)
    assert r.status_code == 413
    assert f"max_frame_bytes ({limit} bytes)" in r.json()["error"]  # the limit as configured
    assert listed(node) == []


def test_oversized_content_length_is_413_before_the_body(node: Node) -> None:
    """The refusal comes from the headers alone: the body is never sent here."""
    with socket.create_connection(("127.0.0.1", node.running.port), timeout=10) as sock:
        sock.sendall(raw_upload_head(node.upload, 999_999_999))
        reply = b""
        while not reply.endswith(b"}"):
            chunk = sock.recv(65536)
            assert chunk, reply
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 413 ")
    # The configured limit and its setting's name, not the body limit derived from it.
    limit = node.settings.max_frame_bytes
    assert f"max_frame_bytes ({limit} bytes)".encode() in reply
    assert str(limit + MULTIPART_OVERHEAD).encode() not in reply


def test_a_full_disk_is_503_saying_what_to_do(
    tmp_path: Path, request: pytest.FixtureRequest, start_node
) -> None:
    from dataclasses import replace

    from disks import tmpfs_or_skip

    settings = make_settings("file+sqlite", tmp_path / "archive", request)
    with tmpfs_or_skip(tmp_path / "small", "64k") as small:  # ENOSPC from the kernel
        node = start_node(replace(settings, blobs=f"file://{small}"))
        big = make_jpeg(640, 480, noise=True)  # ~500 KB of noise: more than the disk holds
        r = upload(node, big)
        assert r.status_code == 503 and r.headers["Retry-After"]
        error = r.json()["error"]
        assert "No space left on device" in error
        assert "disk is full: free space there, or keep less with retention" in error
        assert "max_age_days or max_bytes under [retention]" in error
        assert listed(node) == []


def test_rate_limit_is_429_with_retry_after(settings, start_node, jpeg: bytes) -> None:
    from dataclasses import replace

    node = start_node(replace(settings, rate_per_token=0.01, rate_burst=2))
    codes = [upload(node, jpeg).status_code for _ in range(3)]
    assert codes[:2] == [201, 201]
    r = upload(node, jpeg)
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) >= 1
    # Another token has its own bucket.
    assert upload(node, jpeg, token=node.token("yard")).status_code == 201


def test_dashboard_field_after_the_image_is_still_checked(node: Node, jpeg: bytes) -> None:
    def post(token: str, cam: str) -> requests.Response:
        return requests.post(
            f"{node.url}/frames",
            data=raw_multipart({}, jpeg, after={"cam": cam}),
            headers={"Content-Type": MULTIPART_TYPE},
            auth=requests.BearerAuth(token),
        )

    refused = post(node.upload, "porch")
    assert refused.status_code == 403
    # An all-cams token cannot know where to store the image before the cam arrives.
    assert post(node.admin, "porch").status_code == 400
    assert post(node.upload, "yard").status_code == 201
    assert len(listed(node)) == 1
    if node.settings.blobs.startswith("file://"):
        assert len(list((node.settings.data_dir / "blobs").rglob("*.jpg"))) == 1


# -- the streaming parser on its own (no server) --------------------------------------------


@pytest.mark.parametrize(
    "disposition",
    [
        'form-data; name="cam"',
        'form-data; name="image"; filename="../../x.jpg"',
        "form-data; name=cam",  # unquoted: the general parser
        'Form-Data; name="cam"',
        'form-data; filename="a.jpg"; name="image"',
        'form-data; name="caf\xe9"',
        'form-data; name=""',
    ],
)
def test_plain_disposition_shortcut_agrees_with_the_general_parser(disposition: str) -> None:
    kind, options = parse_options_header(disposition)
    assert kind == b"form-data"
    assert _form_data_name(disposition) == options[b"name"].decode("utf-8", "replace")


@pytest.mark.parametrize("disposition", ["attachment; name=image", "form-data", ""])
def test_disposition_without_form_data_name_is_400(disposition: str) -> None:
    with pytest.raises(ApiError) as caught:
        _form_data_name(disposition)
    assert caught.value.status == 400


async def test_body_stream_is_closed_when_the_closing_boundary_is_parsed(tmp_path) -> None:
    jpeg = make_jpeg()
    body = raw_multipart({}, jpeg)
    closed = []

    async def stream() -> AsyncGenerator[bytes, None]:
        # Like Starlette's request.stream(): an empty chunk after the last body message.
        try:
            yield body
            yield b""
        finally:
            closed.append(True)

    store = await open_blob_store(tmp_path.as_uri())
    try:
        key = blob_key("yard", new_frame_id(), 1700000000.0)
        upload = await receive_upload(
            stream(),
            MULTIPART_TYPE,
            len(body),
            max_image=1 << 20,
            open_writer=lambda: store.open_writer(key),
        )
    finally:
        await store.close()
    assert closed == [True]  # by receive_upload itself, not left to the loop's finalizer
    assert upload.blob.size == len(jpeg)
    assert (tmp_path / key).read_bytes() == jpeg


def _request_for_host(host: str, scheme: str = "https") -> Request:
    headers = [(b"host", host.encode())]
    scope = {"type": "http", "scheme": scheme, "server": ("127.0.0.1", 8443), "root_path": ""}
    return Request({**scope, "path": "/frames", "query_string": b"", "headers": headers})


def test_frame_urls_follow_each_requests_host_and_the_cache_stays_bounded() -> None:
    assert _base_url(_request_for_host("archive.example:8443")) == "https://archive.example:8443"
    assert _base_url(_request_for_host("archive.example:8443", "http")) == (
        "http://archive.example:8443"
    )
    assert _base_url(_request_for_host("other.example")) == "https://other.example"
    for n in range(3 * _BASE_URLS_MAX):  # a client inventing Host headers
        assert _base_url(_request_for_host(f"h{n}.example")) == f"https://h{n}.example"
        assert len(_BASE_URLS) <= _BASE_URLS_MAX
