"""The product docs' ``archive_frame`` runs verbatim against ``yardcam.requests``.

The function below is the README's example character for character (only the two settings
are filled in by the tests). It blocks the event loop for the whole upload and keeps nothing
on failure: the README explains why the Uploader is the better path.
"""

# ruff: noqa: UP032 - the docs' example keeps its str.format, verbatim

from __future__ import annotations

import asyncio
import hashlib
import io
import time
from collections.abc import Callable

import pytest
from archive_stub import ArchiveStub

from serving import Running, refusing_socket
from yardcam import requests

ARCHIVE_URL = "https://api.backyard-cloud.com/frames"
ARCHIVE_TOKEN = "set by each test"


# fmt: off
async def archive_frame(jpeg, ts):
    try:
        r = requests.post(
            ARCHIVE_URL,
            files={'image': (
                'frame-{}.jpg'.format(ts),
                io.BytesIO(jpeg),
            )},
            headers={'Authorization': 'Bearer ' + ARCHIVE_TOKEN},
        )
    except OSError as e:
        print('upload failed:', e)
        return False
    if r.status_code >= 400:
        print('archive rejected:', r.status_code, r.reason)
        return False
    return True
# fmt: on


@pytest.fixture
def plain_archive(start_archive: Callable[..., Running], monkeypatch: pytest.MonkeyPatch) -> str:
    running = start_archive(tls=False)
    monkeypatch.setitem(globals(), "ARCHIVE_URL", f"{running.url}/frames")
    monkeypatch.setitem(globals(), "ARCHIVE_TOKEN", "good-token")
    return running.url


async def test_fired_from_the_motion_loop_it_uploads(stub: ArchiveStub, plain_archive: str) -> None:
    jpeg, ts = b"\xff\xd8 a frame \xff\xd9", int(time.time())
    assert await asyncio.create_task(archive_frame(jpeg, ts)) is True
    [got] = stub.posts
    assert got.filename == f"frame-{ts}.jpg" and got.authorization == "Bearer good-token"
    assert got.sha256 == hashlib.sha256(jpeg).hexdigest()


async def test_a_rejected_token_is_reported(
    stub: ArchiveStub, plain_archive: str, capsys: pytest.CaptureFixture[str]
) -> None:
    stub.token = "rotated"
    assert await archive_frame(b"\xff\xd8x", 1) is False
    assert "archive rejected: 401 Unauthorized" in capsys.readouterr().out


async def test_a_network_failure_is_an_oserror(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with refusing_socket() as refusing:
        port = refusing.getsockname()[1]
        monkeypatch.setitem(globals(), "ARCHIVE_URL", f"http://127.0.0.1:{port}/frames")
        monkeypatch.setitem(globals(), "ARCHIVE_TOKEN", "good-token")
        assert await archive_frame(b"\xff\xd8x", 1) is False
    assert capsys.readouterr().out.startswith("upload failed:")
