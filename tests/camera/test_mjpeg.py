import asyncio
import contextlib
import itertools
import socket
from collections.abc import AsyncIterator

import pytest
from camera_helpers import stop
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Route

from yardcam.camera import (
    FrameHub,
    MjpegParser,
    MjpegSource,
    SourceError,
    SyntheticScene,
    boundary_from_content_type,
    open_source,
)
from yardcam.requests import Backoff

JPEGS = [
    b"\xff\xd8first\r\n--not-a-boundary\xff\xd9",
    b"\xff\xd8second\xff\xd9",
    b"\xff\xd8" + bytes(5000),
]


def stream(jpegs: list[bytes], *, lengths: bool) -> bytes:
    out = b"preamble\r\n"
    for jpeg in jpegs:
        out += b"--cam\r\nContent-Type: image/jpeg\r\n"
        if lengths:
            out += b"Content-Length: %d\r\n" % len(jpeg)
        out += b"\r\n" + jpeg + b"\r\n"
    return out + b"--cam\r\n"


@pytest.mark.parametrize("lengths", [True, False])
def test_parser_finds_every_frame_however_the_bytes_are_split(lengths: bool) -> None:
    data = stream(JPEGS, lengths=lengths)
    for step in (1, 2, 7, 64, len(data)):
        parser = MjpegParser(b"cam")
        got = [p for i in range(0, len(data), step) for p in parser.feed(data[i : i + step])]
        assert got == JPEGS, step


def test_parser_skips_parts_that_are_not_jpegs() -> None:
    parser = MjpegParser(b"cam")
    text = b"--cam\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
    assert parser.feed(text + stream(JPEGS[:1], lengths=True)) == JPEGS[:1]
    assert parser.skipped == 1


def test_parser_refuses_endless_or_huge_parts() -> None:
    with pytest.raises(SourceError, match="over the limit"):
        MjpegParser(b"cam", max_part=100).feed(b"--cam\r\nContent-Length: 101\r\n\r\n")
    with pytest.raises(SourceError, match="over the limit"):
        MjpegParser(b"cam", max_part=100).feed(b"--cam\r\n\r\n\xff\xd8" + bytes(200))
    with pytest.raises(SourceError, match="headers too long"):
        MjpegParser(b"cam").feed(b"--cam\r\n" + b"X" * 20000)
    with pytest.raises(SourceError, match="bad MJPEG Content-Length"):
        MjpegParser(b"cam").feed(b"--cam\r\nContent-Length: lots\r\n\r\n")


@pytest.mark.parametrize(
    ("header", "boundary"),
    [
        ("multipart/x-mixed-replace;boundary=frame", b"frame"),
        ('Multipart/X-Mixed-Replace; charset=x; boundary="--myboundary"', b"myboundary"),
    ],
)
def test_boundary_from_content_type(header: str, boundary: bytes) -> None:
    assert boundary_from_content_type(header) == boundary


@pytest.mark.parametrize("header", ["image/jpeg", "multipart/x-mixed-replace", ""])
def test_not_an_mjpeg_content_type(header: str) -> None:
    with pytest.raises(SourceError):
        boundary_from_content_type(header)


def mjpeg_app(scene: SyntheticScene, frames: int) -> Starlette:
    """A camera that streams ``frames`` scene frames, the way IP cameras do, then hangs up."""

    async def parts() -> AsyncIterator[bytes]:
        for i in range(frames):
            jpeg = scene.jpeg(i)
            yield b"--yardcam\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(jpeg)
            yield jpeg + b"\r\n"
            await asyncio.sleep(0)

    async def video(request: Request) -> StreamingResponse:
        return StreamingResponse(parts(), media_type="multipart/x-mixed-replace; boundary=yardcam")

    async def still(request: Request) -> PlainTextResponse:
        return PlainTextResponse("a still image page")

    return Starlette(routes=[Route("/video", video), Route("/still", still)])


async def test_source_reads_a_real_mjpeg_stream(serve_app, small_scene: SyntheticScene) -> None:
    server = serve_app(mjpeg_app(small_scene, frames=6))
    got = []
    async with contextlib.aclosing(open_source(server.url + "/video").frames()) as frames:
        async for frame in frames:
            got.append(frame)
            if len(got) == 6:
                break
    assert [f.jpeg for f in got] == [small_scene.jpeg(i) for i in range(6)]
    assert [(f.seq, f.width, f.height) for f in got] == [(i, 320, 180) for i in range(6)]


async def test_over_tls_and_a_dropped_stream_is_retried(
    serve_app, tls_files, small_scene: SyntheticScene
) -> None:
    server = serve_app(mjpeg_app(small_scene, frames=3), tls=tls_files)
    hub = FrameHub(backoff=Backoff(base=0.01, cap=0.01))
    task = asyncio.create_task(
        hub.run(MjpegSource(server.url + "/video", verify=str(tls_files.ca_pem)))
    )
    # The camera hangs up after 3 frames; the hub reconnects. Stop it while it waits to retry.
    while hub.failures < 2 or not hub.state.startswith("retrying"):
        await asyncio.sleep(0.001)
    assert hub.state == "retrying: MJPEG stream ended"
    assert hub.latest is not None and hub.latest.seq == 5  # 3 frames a run, renumbered
    await stop(task)


async def test_not_a_stream_is_a_source_error(serve_app) -> None:
    server = serve_app(mjpeg_app(SyntheticScene(width=64, height=64), frames=1))
    for path, message in [("/still", "not an MJPEG stream"), ("/nothing", "404")]:
        async with contextlib.aclosing(MjpegSource(server.url + path).frames()) as frames:
            with pytest.raises(SourceError, match=message):
                await anext(frames)


async def test_a_refused_stream_says_what_to_do(serve_app, tmp_path) -> None:
    # Another yardcam's /stream.jpg without a token, or with one it no longer accepts.
    async def locked(request: Request) -> PlainTextResponse:
        return PlainTextResponse("login required", status_code=401)

    server = serve_app(Starlette(routes=[Route("/stream.jpg", locked)]))
    token = tmp_path / "front-cam-token"
    token.write_text("ycam_revoked\n")
    for source, message in [
        (
            MjpegSource(server.url + "/stream.jpg"),
            "it needs a token; for another yardcam, make a read token there ('yardcam token "
            "create NAME --scope read') and give its file as source_token_file",
        ),
        (
            MjpegSource(server.url + "/stream.jpg", token_file=token),
            f"the token in {token} was refused (revoked, or made on another cam)",
        ),
    ]:
        async with contextlib.aclosing(source.frames()) as frames:
            with pytest.raises(SourceError) as refused:
                await anext(frames)
        assert str(refused.value).startswith("MJPEG stream answered 401 Unauthorized: ")
        assert message in str(refused.value)


async def test_camera_offline_is_a_retrying_state() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nobody listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    hub = FrameHub(backoff=Backoff(base=0.01, cap=0.01))
    task = asyncio.create_task(hub.run(MjpegSource(f"http://127.0.0.1:{port}/video")))
    while hub.failures < 1:
        await asyncio.sleep(0.001)
    assert hub.state.startswith("retrying: ")
    assert hub.latest is None
    await stop(task)


@settings(max_examples=150, deadline=None)
@given(
    bodies=st.lists(st.binary(max_size=300), min_size=1, max_size=5),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=12),
    lengths=st.booleans(),
)
def test_parser_property_any_payloads_any_splits(
    bodies: list[bytes], cuts: list[int], lengths: bool
) -> None:
    jpegs = [b"\xff\xd8" + body for body in bodies]
    if not lengths:  # without Content-Length a body cannot contain its own delimiter
        jpegs = [j.replace(b"\r\n--cam", b"\r\n-_cam") for j in jpegs]
    data = stream(jpegs, lengths=lengths)
    points = sorted({0, len(data), *(c for c in cuts if c < len(data))})
    parser = MjpegParser(b"cam")
    got = [p for a, b in itertools.pairwise(points) for p in parser.feed(data[a:b])]
    assert got == jpegs
