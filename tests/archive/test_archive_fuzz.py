"""Property test of POST /frames: random multipart-ish bodies and headers never cause a 5xx or a
hang, and an accepted upload is always exactly the JPEG that was sent."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from archive.helpers import Node, make_jpeg
from yardcam import requests
from yardcam.archive import ArchiveSettings

JPEG = make_jpeg(32, 24, seed=5)
REFUSALS = {400, 401, 403, 413, 415}

names = st.sampled_from(["image", "cam", "ts", "seq", "change", "other", ""]) | st.text(max_size=8)
contents = st.one_of(
    st.just(JPEG),
    st.binary(max_size=64),
    st.builds(lambda n: JPEG[:n], st.integers(0, len(JPEG))),
    st.builds(lambda b: JPEG + b, st.binary(min_size=1, max_size=40)),
    st.sampled_from([b"yard", b"porch", b"12.5", b"-1", b"nan", b"\xff\xfe", b"9" * 30]),
)
dispositions = st.one_of(
    st.builds(lambda n: f'form-data; name="{n}"', names),
    st.builds(lambda n: f'form-data; name="{n}"; filename="../../x.jpg"', names),
    st.sampled_from(["form-data", "attachment; name=image", "", 'form-data; name="image'])
    | st.text(max_size=20),
)


field_values = st.sampled_from(["yard", "porch", "", "12.5", "-1", "1e400", "nan", "7", "x" * 2000])


def _part(boundary: str, disposition: str, content: bytes) -> bytes:
    head = f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n"
    return head.encode("utf-8", "replace") + content + b"\r\n"


@st.composite
def well_formed(draw: st.DrawFn) -> tuple[str, bytes]:
    """A proper upload with random field values, the image anywhere among them."""
    boundary = draw(st.sampled_from(["b", "X" * 70, "----yc1"]))
    fields = draw(st.dictionaries(st.sampled_from(["cam", "ts", "seq", "change"]), field_values))
    parts = [_part(boundary, f'form-data; name="{k}"', v.encode()) for k, v in fields.items()]
    image = _part(boundary, 'form-data; name="image"; filename="../../x.jpg"', JPEG)
    parts.insert(draw(st.integers(0, len(parts))), image)
    return f"multipart/form-data; boundary={boundary}", b"".join(
        parts
    ) + f"--{boundary}--\r\n".encode()


@st.composite
def junk(draw: st.DrawFn) -> tuple[str, bytes]:
    """Random parts with random headers and contents, random content types."""
    boundary = draw(st.sampled_from(["b", "X" * 70, "----yc1", "a b"]))
    out = b"".join(
        _part(boundary, draw(dispositions), draw(contents)) for _ in range(draw(st.integers(0, 4)))
    )
    if draw(st.booleans()):
        out += f"--{boundary}--\r\n".encode()
    content_type = draw(
        st.sampled_from(
            [
                f"multipart/form-data; boundary={boundary}",
                f'multipart/form-data; boundary="{boundary}"',
                "multipart/form-data",
                "image/jpeg",
                "multipart/form-data; boundary=",
                "text/plain; boundary=b",
            ]
        )
    )
    return content_type, out


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    """A proper upload with one cut, insertion or flipped byte."""
    content_type, body = draw(well_formed())
    at = draw(st.integers(0, len(body)))
    how = draw(st.sampled_from(["cut", "insert", "flip"]))
    if how == "cut":
        return content_type, body[:at]
    if how == "insert":
        return content_type, body[:at] + draw(st.binary(min_size=1, max_size=16)) + body[at:]
    flipped = bytes([body[at - 1] ^ 0xFF]) if at else b""
    return content_type, body[: max(at - 1, 0)] + flipped + body[at:]


bodies = st.one_of(well_formed(), mutated(), junk())


@pytest.mark.parametrize("stack", ["file+sqlite"], indirect=True)
def test_random_uploads_never_5xx_or_hang(node_unlimited: Node) -> None:
    node = node_unlimited
    stored: list[str] = []

    @hypothesis_settings(
        max_examples=150,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        bodies,
        st.integers(0, 9).map(lambda n: n != 3),  # mostly with the token
        st.one_of(st.none(), st.uuids().map(str), st.sampled_from(["k1", "bad key"])),
    )
    def check(body: tuple[str, bytes], authorized: bool, key: str | None) -> None:
        content_type, data = body
        headers = {"Content-Type": content_type}
        if authorized:
            headers["Authorization"] = f"Bearer {node.upload}"
        if key is not None:
            headers["Idempotency-Key"] = key
        r = requests.post(f"{node.url}/frames", data=data, headers=headers, timeout=10)
        assert r.status_code < 500, (r.status_code, r.text)
        if r.status_code in (200, 201):
            frame = r.json()
            stored.append(frame["id"])
            got = requests.get(frame["url"], auth=requests.BearerAuth(node.read), timeout=10)
            assert hashlib.sha256(got.content).hexdigest() == frame["sha256"]
            assert got.content.startswith(b"\xff\xd8\xff")
        else:
            assert r.status_code in REFUSALS, (r.status_code, r.text)
            assert r.json()["error"]

    check()
    assert requests.get(f"{node.url}/readyz").status_code == 200


@pytest.fixture
def node_unlimited(settings: ArchiveSettings, start_node) -> Node:
    return start_node(replace(settings, rate_per_token=0))
