"""Hostile input at an archive node, on both stacks: what an attacker sends is refused with a
4xx and a reason, nothing reaches storage, and the node goes on serving. (Slow connections at
the open-file limit: tests/test_run_hostile.py; polyglots: test_archive_jpeg.py; expired
tokens: test_archive_token_expiry.py; the rest of the ingest's refusals: test_archive_ingest.py.)
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from urllib.parse import urlsplit

import pytest

from archive.helpers import Node, make_jpeg
from yardcam import requests
from yardcam.archive.storage import open_frame_index


def post(node: Node, body: bytes, token: str, content_type: str) -> requests.Response:
    return requests.post(
        f"{node.url}/frames",
        data=body,
        headers={"Content-Type": content_type},
        auth=requests.BearerAuth(token),
    )


def frames(node: Node) -> list[dict]:
    r = requests.get(f"{node.url}/frames", auth=requests.BearerAuth(node.read))
    assert r.status_code == 200
    return r.json()["frames"]


def still_serving(node: Node) -> bool:
    ok = requests.post(
        f"{node.url}/frames",
        files={"image": ("f.jpg", make_jpeg(seed=5), "image/jpeg")},
        auth=requests.BearerAuth(node.upload),
    )
    return ok.status_code == 201


def test_a_multipart_with_thousands_of_parts_is_refused(node: Node) -> None:
    parts = b"".join(
        b"--b\r\nContent-Disposition: form-data; name=f%d\r\n\r\nv\r\n" % i for i in range(5000)
    )
    r = post(node, parts + b"--b--\r\n", node.upload, "multipart/form-data; boundary=b")
    assert r.status_code == 400
    assert "too many parts" in r.json()["error"]
    assert frames(node) == [] and still_serving(node)


def test_an_oversized_request_head_is_refused_and_the_node_goes_on(node: Node) -> None:
    url = urlsplit(node.url)
    raw = socket.create_connection((url.hostname, url.port), timeout=10)
    if url.scheme == "https":
        raw = ssl._create_unverified_context().wrap_socket(raw)  # the test's own certificate
    with raw:
        raw.sendall(b"GET /frames HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n")
        answer = b""
        while chunk := raw.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 4"), answer[:200]  # and the connection was closed
    assert still_serving(node)


@pytest.mark.parametrize("cam", ["../../etc", "..", "yard/../porch", "yard\x00", "%2e%2e"])
def test_traversal_in_a_cam_name_never_reaches_storage(node: Node, cam: str) -> None:
    r = requests.post(
        f"{node.url}/frames",
        data={"cam": cam},
        files={"image": ("../../x.jpg", make_jpeg(), "image/jpeg")},
        auth=requests.BearerAuth(node.admin),  # an admin may name any cam: only the rule stops it
    )
    assert r.status_code in (400, 403), r.text
    assert "error" in r.json()
    assert frames(node) == []


@pytest.mark.parametrize(
    "path", ["/frames/..%2f..%2fetc%2fpasswd", "/frames/../../etc/passwd", "/frames/%00"]
)
def test_traversal_in_a_frame_path_is_not_found(node: Node, path: str) -> None:
    r = requests.get(f"{node.url}{path}", auth=requests.BearerAuth(node.read))
    assert r.status_code in (400, 404)


def test_tampered_and_revoked_tokens_are_401(node: Node) -> None:
    last = node.upload[-1]
    tampered = node.upload[:-1] + ("A" if last != "A" else "B")
    token_id = node.upload.split("_")[1]
    wrong_secret = f"yc_{token_id}_{'x' * 43}"
    fresh = node.token("yard")  # never used: no node has it cached

    async def revoke() -> None:
        index = await open_frame_index(node.settings.index)
        try:
            assert await index.revoke_token(fresh.split("_")[1])
        finally:
            await index.close()

    asyncio.run(revoke())
    for token in (tampered, wrong_secret, fresh, node.upload + "x", " " + node.upload[1:]):
        r = requests.post(
            f"{node.url}/frames",
            files={"image": ("f.jpg", make_jpeg(), "image/jpeg")},
            auth=requests.BearerAuth(token),
        )
        assert r.status_code == 401, (token, r.text)
        assert "token" in r.json()["error"]
    assert frames(node) == []
