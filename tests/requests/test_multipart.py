"""The streaming multipart/form-data encoder, parsed back with python-multipart."""

from __future__ import annotations

import hashlib
import io
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from echo_servers import EchoServer
from hypothesis import given, settings
from hypothesis import strategies as st
from python_multipart.multipart import MultipartParser

from serving import TLSFiles
from yardcam import requests
from yardcam.requests._body import BLOCK_SIZE, Body, encode_body
from yardcam.requests._multipart import COALESCE_LIMIT, MultipartBody
from yardcam.requests.exceptions import InvalidBody, UnrewindableBodyError


@dataclass
class Part:
    headers: dict[str, str] = field(default_factory=dict)
    data: bytearray = field(default_factory=bytearray)


def parse(body: Body, raw: bytes) -> list[Part]:
    """Parse ``raw`` as the multipart body announced by ``body.content_type``."""
    assert body.content_type is not None
    kind, _, boundary = body.content_type.partition("; boundary=")
    assert kind == "multipart/form-data"
    parts: list[Part] = []
    name = value = b""

    def on_header_field(data: bytes, start: int, end: int) -> None:
        nonlocal name
        name += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        nonlocal value
        value += data[start:end]

    def on_header_end() -> None:
        nonlocal name, value
        parts[-1].headers[name.decode().lower()] = value.decode()
        name = value = b""

    def on_part_data(data: bytes, start: int, end: int) -> None:
        parts[-1].data += data[start:end]

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": lambda: parts.append(Part()),
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_part_data": on_part_data,
        },
    )
    assert parser.write(raw) == len(raw)
    parser.finalize()
    return parts


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def encode(**kwargs: object) -> tuple[Body, list[Part]]:
    body = encode_body(**kwargs)
    assert body is not None
    raw = b"".join(body)
    if body.content_length is not None:
        assert body.content_length == len(raw)
    return body, parse(body, raw)


def test_fields_then_files_every_value_shape(tmp_path: Path) -> None:
    photo = tmp_path / "yard.jpg"
    photo.write_bytes(os.urandom(300_000))
    with photo.open("rb") as f:
        body, parts = encode(
            data={"cam": "yard", "seq": 7, "change": 12.5, "tag": ["a", "b"], "skip": None},
            files=[
                ("image", ("frame-1.jpg", io.BytesIO(b"\xff\xd8jpeg"))),
                ("raw", f),
                ("typed", ("notes.bin", b"\x00\x01", "application/x-yard")),
                ("extra", ("e.txt", "héllo", "text/plain", {"X-Frame": "42"})),
                ("blob", b"bare bytes"),
                ("anonymous", (None, b"no filename")),
                ("listed", ["l.txt", b"a list, as requests allows", "text/plain"]),
            ],
        )
    assert body.content_type is not None
    assert [(p.headers["content-disposition"], p.headers.get("content-type")) for p in parts] == [
        ('form-data; name="cam"', None),
        ('form-data; name="seq"', None),
        ('form-data; name="change"', None),
        ('form-data; name="tag"', None),
        ('form-data; name="tag"', None),
        ('form-data; name="image"; filename="frame-1.jpg"', "image/jpeg"),
        ('form-data; name="raw"; filename="yard.jpg"', "image/jpeg"),
        ('form-data; name="typed"; filename="notes.bin"', "application/x-yard"),
        ('form-data; name="extra"; filename="e.txt"', "text/plain"),
        ('form-data; name="blob"; filename="blob"', "application/octet-stream"),
        ('form-data; name="anonymous"', None),
        ('form-data; name="listed"; filename="l.txt"', "text/plain"),
    ]
    assert [bytes(p.data) for p in parts] == [
        b"yard",
        b"7",
        b"12.5",
        b"a",
        b"b",
        b"\xff\xd8jpeg",
        photo.read_bytes(),
        b"\x00\x01",
        "héllo".encode(),
        b"bare bytes",
        b"no filename",
        b"a list, as requests allows",
    ]
    assert parts[8].headers["x-frame"] == "42"


def test_custom_content_type_header_wins() -> None:
    _, parts = encode(files={"f": ("a.jpg", b"x", None, {"Content-Type": "image/webp"})})
    assert parts[0].headers["content-type"] == "image/webp"


def test_names_cannot_inject_headers() -> None:
    evil = 'x"; filename="../../etc/passwd"\r\nX-Injected: 1'
    _, parts = encode(data={evil: "v"}, files={"f": (evil, b"data")})
    assert "x-injected" not in parts[0].headers
    assert "x-injected" not in parts[1].headers
    escaped = "x%22; filename=%22../../etc/passwd%22%0D%0AX-Injected: 1"
    assert parts[0].headers["content-disposition"] == f'form-data; name="{escaped}"'
    assert parts[1].headers["content-disposition"] == (f'form-data; name="f"; filename="{escaped}"')


def test_boundary_is_random() -> None:
    first, second = MultipartBody({"f": b"x"}), MultipartBody({"f": b"x"})
    assert first.boundary != second.boundary
    assert len(first.boundary) == 32


def escaped(name: str) -> str:
    return name.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


names = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)


@settings(max_examples=40, deadline=None)
@given(
    fields=st.lists(st.tuples(names, st.text(max_size=40) | st.binary(max_size=40)), max_size=4),
    uploads=st.lists(
        st.tuples(
            names, names | st.none(), st.binary(max_size=COALESCE_LIMIT + 100), st.booleans()
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_any_names_and_contents_round_trip(
    fields: list[tuple[str, str | bytes]], uploads: list[tuple[str, str | None, bytes, bool]]
) -> None:
    _, parts = encode(
        data=fields,
        files=[
            (name, (filename, io.BytesIO(content) if as_file else content))
            for name, filename, content, as_file in uploads
        ],
    )
    expected = [(f'form-data; name="{escaped(n)}"', v) for n, v in fields] + [
        (
            f'form-data; name="{escaped(n)}"'
            + (f'; filename="{escaped(f)}"' if f is not None else ""),
            c,
        )
        for n, f, c, _ in uploads
    ]
    assert [(p.headers["content-disposition"].encode(), bytes(p.data)) for p in parts] == [
        (d.encode(), v.encode() if isinstance(v, str) else v) for d, v in expected
    ]


class RecordingReader(io.RawIOBase):
    """A seekable binary stream that records each read size and every block it returns."""

    def __init__(self, size: int) -> None:
        self._data = memoryview(os.urandom(size))
        self._pos = 0
        self.asked: list[int] = []
        self.returned: list[bytes] = []

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._pos = offset if whence == io.SEEK_SET else len(self._data) + offset
        return self._pos

    def read(self, size: int = -1) -> bytes:
        self.asked.append(size)
        end = len(self._data) if size < 0 else min(self._pos + size, len(self._data))
        block = bytes(self._data[self._pos : end])
        self._pos = end
        self.returned.append(block)
        return block


def test_files_are_read_in_big_blocks_and_yielded_uncopied() -> None:
    reader = RecordingReader(5 * BLOCK_SIZE + 1000)
    body = encode_body(data={"cam": "yard"}, files={"video": ("v.bin", reader)})
    assert body is not None
    chunks = list(body)
    data_reads = [n for n, block in zip(reader.asked, reader.returned, strict=True) if block]
    assert data_reads and all(n >= 64 * 1024 for n in data_reads)
    big = [block for block in reader.returned if len(block) >= COALESCE_LIMIT]
    assert len(big) == 5
    # Each big block reaches the transport as the very object read(), never joined or copied.
    chunk_ids = {id(chunk) for chunk in chunks}
    assert all(id(block) in chunk_ids for block in big)
    assert max(len(chunk) for chunk in chunks) <= BLOCK_SIZE
    # Small pieces (boundaries, headers, the field, the file's short tail) are coalesced.
    assert len(chunks) == 7


def test_a_camera_frame_is_three_sends() -> None:
    jpeg = os.urandom(200_000)
    body = encode_body(
        data={"cam": "yard", "ts": "1.5", "seq": "3", "change": "14.2"},
        files={"image": ("frame-1.5.jpg", io.BytesIO(jpeg))},
    )
    assert body is not None
    chunks = list(body)
    assert len(chunks) == 3
    # BytesIO.read of the whole buffer hands back the caller's bytes object itself.
    assert chunks[1] is jpeg


def test_unknown_size_means_chunked_and_unrewindable() -> None:
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd, "rb") as reader, os.fdopen(write_fd, "wb") as writer:
        writer.write(b"piped frame")
        writer.close()
        body, parts = encode(data={"cam": "yard"}, files={"image": ("p.jpg", reader)})
    assert body.content_length is None
    assert not body.rewindable
    assert bytes(parts[1].data) == b"piped frame"
    with pytest.raises(UnrewindableBodyError, match="not seekable"):
        body.rewind()


def test_rewind_resends_identical_bytes(tmp_path: Path) -> None:
    path = tmp_path / "clip.bin"
    path.write_bytes(os.urandom(BLOCK_SIZE + 5))
    with path.open("rb") as f:
        f.seek(5)
        body = encode_body(files={"clip": f, "meta": ("m.json", io.BytesIO(b"{}"))})
        assert body is not None and body.rewindable
        first = b"".join(body)
        body.rewind()
        second = b"".join(body)
        third = b"".join(body)  # a second pass without rewind() starts over too
    assert first == second == third
    assert len(first) == body.content_length
    assert bytes(parse(body, first)[0].data) == path.read_bytes()[5:]


async def test_async_reads_real_files_off_loop(tmp_path: Path) -> None:
    loop_thread = threading.get_ident()
    threads: list[int] = []

    class TracedFile(io.FileIO):
        def read(self, size: int = -1) -> bytes:
            threads.append(threading.get_ident())
            return super().read(size)

    path = tmp_path / "clip.bin"
    path.write_bytes(os.urandom(2 * BLOCK_SIZE + 7))
    with TracedFile(path, "rb") as f:
        body = encode_body(data={"cam": "yard"}, files={"clip": f, "note": b"n"})
        assert body is not None
        threads.clear()
        raw = b"".join([chunk async for chunk in body])
        assert threads and loop_thread not in threads
        sync_raw = b"".join(body)
    assert raw == sync_raw
    assert len(raw) == body.content_length
    assert [bytes(p.data) for p in parse(body, raw)] == [b"yard", path.read_bytes(), b"n"]


async def test_async_reads_bytesio_inline() -> None:
    loop_thread = threading.get_ident()
    threads: list[int] = []

    class TracedBytes(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            threads.append(threading.get_ident())
            return super().read(size)

    body = encode_body(files={"image": ("f.jpg", TracedBytes(b"jpeg"))})
    assert body is not None
    threads.clear()
    raw = b"".join([chunk async for chunk in body])
    assert threads == [loop_thread]
    assert bytes(parse(body, raw)[0].data) == b"jpeg"


def test_empty_files_falls_back_to_data() -> None:
    body = encode_body(data={"a": "1"}, files={})
    assert body is not None
    assert body.content_type == "application/x-www-form-urlencoded"


def test_multipart_with_only_fields_from_list_files() -> None:
    _, parts = encode(files=[("a", b"1"), ("a", b"2")])
    assert [bytes(p.data) for p in parts] == [b"1", b"2"]


class NoRead:
    pass


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        ("not a dict", "files= must be a dict or a list"),
        ([("only-name",)], "files= must be a dict or a list"),
        ({"f": ("one",)}, "got a tuple of 1"),
        ({"f": ("a", b"x", "t", {}, "extra")}, "got a tuple of 5"),
        ({"f": (b"name.jpg", b"x")}, "filename must be str or None, not bytes"),
        ({"f": NoRead()}, "must be a binary file-like, bytes or str, not NoRead"),
        ({"f": 12}, "not int"),
        ({"f": ("a", b"x", "text/plain\r\nX-Evil: 1")}, "without CR, LF or NUL"),
        ({"f": ("a", b"x", None, {"X-Ok": "v\nX-Evil: 1"})}, "without CR, LF or NUL"),
        ({"f": ("a", b"x", None, {"Bad Name": "v"})}, "invalid header name"),
        ({"f": ("a", b"x", None, ["X-List", "v"])}, "headers must be a dict"),
        ({3: b"x"}, "field name must be str"),
    ],
)
def test_bad_files_are_refused_before_sending(files: object, reason: str) -> None:
    with pytest.raises(InvalidBody, match=reason):
        encode_body(files=files)


def test_bad_data_next_to_files_is_refused() -> None:
    with pytest.raises(InvalidBody, match="form fields must be a dict"):
        encode_body(data="raw string", files={"f": b"x"})


def test_closed_and_text_mode_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "frame.jpg"
    path.write_bytes(b"jpeg")
    with path.open("r") as text, pytest.raises(InvalidBody, match=r"files\['image'\].*text mode"):
        encode_body(files={"image": ("frame.jpg", text)})
    closed = path.open("rb")
    closed.close()
    with pytest.raises(InvalidBody, match="is closed"):
        encode_body(files={"image": closed})


# -- through the client, against the real echo server ---------------------------------------


def test_multipart_over_https_reaches_the_server_intact(
    tls_echo_server: EchoServer, tls_files: TLSFiles, tmp_path: Path
) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(os.urandom(3 * BLOCK_SIZE + 17))
    jpeg = os.urandom(200_000)
    with clip.open("rb") as f, requests.Session() as session:
        r = session.post(
            tls_echo_server.url + "/form",
            data={"cam": "yard", "seq": [1, 2]},
            files=[
                ("image", ("frame-1.jpg", io.BytesIO(jpeg))),
                ("clip", f),
                ("meta", ("m.json", b"{}", "application/json", {"X-Part": "meta"})),
            ],
            headers={"Authorization": "Bearer t0ken"},
            verify=str(tls_files.ca_pem),
        )
    got = r.json()
    assert got["authorization"] == "Bearer t0ken"
    assert got["transfer_encoding"] is None and got["content_length"] is not None
    assert got["fields"] == [["cam", "yard"], ["seq", "1"], ["seq", "2"]]
    assert [
        (p["field"], p["filename"], p["content_type"], p["size"], p["sha256"]) for p in got["files"]
    ] == [
        ("image", "frame-1.jpg", "image/jpeg", len(jpeg), sha256(jpeg)),
        ("clip", "clip.mp4", "video/mp4", clip.stat().st_size, sha256(clip.read_bytes())),
        ("meta", "m.json", "application/json", 2, sha256(b"{}")),
    ]
    assert got["files"][2]["headers"]["x-part"] == "meta"


def test_unknown_size_multipart_goes_chunked(echo_server: EchoServer) -> None:
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd, "rb") as reader, os.fdopen(write_fd, "wb") as writer:
        writer.write(b"piped frame")
        writer.close()
        got = requests.post(echo_server.url + "/form", files={"image": ("p.jpg", reader)}).json()
    assert got["transfer_encoding"] == "chunked" and got["content_length"] is None
    assert got["files"][0]["sha256"] == sha256(b"piped frame")


def test_307_resends_the_file_from_its_start(echo_server: EchoServer, tmp_path: Path) -> None:
    clip = tmp_path / "clip.bin"
    clip.write_bytes(os.urandom(BLOCK_SIZE + 99))
    with clip.open("rb") as f:
        f.seek(99)
        r = requests.post(echo_server.url + "/redirect/307?to=/form", files={"clip": f})
    assert [h.status_code for h in r.history] == [307]
    [part] = r.json()["files"]
    assert part["size"] == BLOCK_SIZE
    assert part["sha256"] == sha256(clip.read_bytes()[99:])


async def test_async_upload_reads_the_file_off_loop(
    tls_echo_server: EchoServer, tls_files: TLSFiles, tmp_path: Path
) -> None:
    loop_thread = threading.get_ident()
    threads: list[int] = []

    class TracedFile(io.FileIO):
        def read(self, size: int = -1) -> bytes:
            threads.append(threading.get_ident())
            return super().read(size)

    clip = tmp_path / "clip.bin"
    clip.write_bytes(os.urandom(4 * BLOCK_SIZE))
    with TracedFile(clip, "rb") as f:
        async with requests.AsyncSession() as session:
            r = await session.post(
                tls_echo_server.url + "/form",
                data={"cam": "yard"},
                files={"clip": ("clip.bin", f)},
                verify=str(tls_files.ca_pem),
            )
    got = r.json()
    assert got["fields"] == [["cam", "yard"]]
    assert got["files"][0]["sha256"] == sha256(clip.read_bytes())
    assert len(threads) == 1 + 4  # the eager read(0) check, then four blocks
    assert threads[0] == loop_thread  # validation happens in the caller, before sending
    assert loop_thread not in threads[1:]


def test_non_ascii_names_reach_the_server_as_utf8(echo_server: EchoServer) -> None:
    got = requests.post(
        echo_server.url + "/form",
        data={"légende": "nuit"},
        files={"image": ('café-🌙 "q".jpg', b"x")},
    ).json()
    assert got["fields"] == [["légende", "nuit"]]
    # Quotes are escaped the way browsers do it; the server sees them percent-encoded.
    assert got["files"][0]["filename"] == "café-🌙 %22q%22.jpg"
