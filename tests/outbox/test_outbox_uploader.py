"""The uploader against a real HTTPS archive stub: every frame archived once, or dead-lettered."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import resource
import ssl
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from archive_stub import ArchiveStub

from serving import Running, TLSFiles, refusing_socket
from yardcam import requests
from yardcam.camera import Frame
from yardcam.outbox import Outbox, TokenSource, Uploader


@dataclass(frozen=True)
class Event:
    """Shaped like yardcam.motion.MotionEvent: what the detector's subscribers receive."""

    frame: Frame
    change: float
    event: str | None = None


def make_frame(seq: int, size: int = 2000) -> Frame:
    return Frame(
        jpeg=b"\xff\xd8" + os.urandom(size) + b"\xff\xd9",
        ts=1_700_000_000 + seq * 0.05,
        seq=seq,
        width=64,
        height=48,
    )


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text("good-token\n")
    return path


@pytest.fixture
def make_uploader(tmp_path: Path, tls_files: TLSFiles, token_file: Path) -> Callable[..., Uploader]:
    def make(url: str, **options: object) -> Uploader:
        outbox = options.pop("outbox", None)  # not `or`: an empty Outbox is falsy
        if outbox is None:
            outbox = Outbox(tmp_path / "outbox")
        settings: dict[str, object] = {
            "cam": "yard",
            "token": TokenSource(token_file),
            "verify": str(tls_files.ca_pem),
            "backoff": requests.Backoff(base=0.05, cap=0.2),
            "retry_interval": 0.1,
            "token_probe_interval": 0.1,
            "timeout": (2.0, 2.0),
            **options,
        }
        return Uploader(outbox, f"{url}/frames", **settings)  # type: ignore[arg-type]

    return make


@contextlib.asynccontextmanager
async def running(uploader: Uploader) -> AsyncIterator[Uploader]:
    task = asyncio.create_task(uploader.run())
    try:
        yield uploader
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def until(
    predicate: Callable[[], bool], timeout: float = 60.0, message: Callable[[], object] = str
) -> None:
    """Poll a condition (the uploader works in the background); fail clearly on timeout."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached in time {message()}")
        await asyncio.sleep(0.01)


async def drained(uploader: Uploader, timeout: float = 60.0) -> None:
    await asyncio.wait_for(uploader.join(), timeout)


def assert_archived_once(stub: ArchiveStub, frames: list[Frame], box: Outbox) -> None:
    keys = {f"yard-{round(f.ts * 1000)}-{f.seq}": f for f in frames}
    assert set(stub.stored) == set(keys)
    for key, frame in keys.items():
        assert stub.stored[key].sha256 == hashlib.sha256(frame.jpeg).hexdigest()
    assert len(box) == 0
    assert list((box.directory / "pending").iterdir()) == []


async def test_frames_arrive_once_with_the_contract_wire_format(
    stub: ArchiveStub, archive: Running, make_uploader: Callable[..., Uploader]
) -> None:
    uploader = make_uploader(archive.url)
    frames = [make_frame(seq) for seq in range(6)]
    async with running(uploader):
        for frame in frames[:3]:
            uploader.submit(Event(frame, 12.5, event="1700000000000-0"))
        for frame in frames[3:]:
            uploader.submit(frame, 3.25)
        await drained(uploader)
    assert_archived_once(stub, frames, uploader.outbox)
    assert len(stub.posts) == 6
    got = stub.stored[f"yard-{round(frames[0].ts * 1000)}-0"]
    assert (got.cam, got.seq, got.change) == ("yard", "0", "12.5")
    assert got.event == "1700000000000-0"
    assert stub.stored[f"yard-{round(frames[5].ts * 1000)}-5"].event is None  # a bare frame
    assert got.ts == f"{frames[0].ts:.3f}" and got.filename == f"frame-{got.ts}.jpg"
    assert got.content_type == "image/jpeg"
    assert got.authorization == "Bearer good-token"
    assert stub.stored[f"yard-{round(frames[5].ts * 1000)}-5"].change == "3.25"
    stats = uploader.stats()
    assert stats["sent"] == 6 and stats["pending"] == 0 and stats["in_flight"] == 0
    assert stats["state"] == "ok" and stats["last_success"] is not None
    assert stats["last_upload_seconds"] > 0  # the cam's /metrics shows it


async def test_server_errors_are_retried_until_accepted(
    stub: ArchiveStub, archive: Running, make_uploader: Callable[..., Uploader]
) -> None:
    stub.script = ["500", "500", "500", "429"]
    stub.retry_after = "0"
    uploader = make_uploader(archive.url, concurrency=1)
    frames = [make_frame(seq) for seq in range(3)]
    async with running(uploader):
        for frame in frames:
            uploader.submit(frame, 20.0)
        await drained(uploader)
    assert_archived_once(stub, frames, uploader.outbox)
    assert uploader.stats()["retried"] == 4 and uploader.stats()["state"] == "ok"


async def test_retry_after_holds_every_worker(
    stub: ArchiveStub, archive: Running, make_uploader: Callable[..., Uploader]
) -> None:
    stub.script = ["429"]
    stub.retry_after = "1"
    uploader = make_uploader(archive.url)
    frame = make_frame(0)
    async with running(uploader):
        uploader.submit(frame, 20.0)
        await until(lambda: len(stub.requests) == 1)
        refused_at = time.monotonic()
        uploader.submit(make_frame(1), 20.0)  # a fresh frame waits out the hold too
        await drained(uploader)
    assert time.monotonic() - refused_at >= 0.9  # a lower bound: Retry-After was honoured
    assert [b for _, b in stub.requests] == ["429", "accept", "accept"]
    assert len(stub.stored) == 2


async def test_refused_connection_then_archive_comes_up(
    stub: ArchiveStub, start_archive: Callable[..., Running], make_uploader: Callable[..., Uploader]
) -> None:
    sock = refusing_socket()
    uploader = make_uploader(f"https://127.0.0.1:{sock.getsockname()[1]}")
    frames = [make_frame(seq) for seq in range(4)]
    async with running(uploader):
        for frame in frames:
            uploader.submit(frame, 20.0)
        await until(lambda: uploader.stats()["retried"] >= 8)
        stats = uploader.stats()
        assert stats["state"] == "unreachable" and stats["pending"] == 4
        assert "yard-" in str(stats["last_error"])
        start_archive(sock)
        await drained(uploader)
    assert_archived_once(stub, frames, uploader.outbox)
    assert uploader.stats()["state"] == "ok"


async def test_a_hung_archive_times_out_and_the_resend_is_absorbed(
    stub: ArchiveStub, archive: Running, make_uploader: Callable[..., Uploader]
) -> None:
    stub.script = ["hang"]
    uploader = make_uploader(archive.url, timeout=(2.0, 0.3))
    frame = make_frame(0)
    async with running(uploader):
        uploader.submit(frame, 20.0)
        await drained(uploader)
    key = f"yard-{round(frame.ts * 1000)}-0"
    assert stub.keys_requested(key) == ["hang", "accept"]
    assert len(stub.posts) == 2 and len(stub.stored) == 1  # resent, archived once
    assert_archived_once(stub, [frame], uploader.outbox)
    assert uploader.stats()["retried"] == 1


async def test_rejected_token_pauses_everything_until_rotation(
    stub: ArchiveStub,
    archive: Running,
    make_uploader: Callable[..., Uploader],
    token_file: Path,
) -> None:
    token_file.write_text("expired-token\n")
    uploader = make_uploader(archive.url, concurrency=3)
    frames = [make_frame(seq) for seq in range(10)]
    async with running(uploader):
        for frame in frames:
            uploader.submit(frame, 20.0)
        await until(lambda: uploader.stats()["state"] == "token rejected")
        await until(lambda: len(stub.requests) >= 6)  # a few probes with the old token
        await until(lambda: len(uploader.outbox) == 10)
        assert stub.stored == {}
        # While paused only probes go out, one at a time: not ten frames hammering a 401.
        assert len(stub.requests) < 3 + 10 * 3
        token_file.write_text("good-token\n")  # rotation, no restart
        await drained(uploader)
    assert_archived_once(stub, frames, uploader.outbox)
    assert uploader.stats()["state"] == "ok"
    assert all(r.authorization == "Bearer good-token" for r in stub.posts)


@pytest.mark.parametrize(
    ("status", "reason"), [("400", "bad form"), ("413", "frame too large"), ("415", "not a JPEG")]
)
async def test_refused_frames_are_dead_lettered_with_the_reason(
    stub: ArchiveStub,
    archive: Running,
    make_uploader: Callable[..., Uploader],
    status: str,
    reason: str,
) -> None:
    stub.script = [status]
    uploader = make_uploader(archive.url, concurrency=1)
    frames = [make_frame(seq) for seq in range(3)]
    async with running(uploader):
        for frame in frames:
            uploader.submit(frame, 20.0)
        await drained(uploader)
    [dead] = uploader.outbox.dead_letters()
    assert dead.reason == f"{status} {reason}" and dead.id.endswith("-0")
    assert (uploader.outbox.directory / "dead" / f"{dead.id}.jpg").read_bytes() == frames[0].jpeg
    assert_archived_once(stub, frames[1:], uploader.outbox)
    assert uploader.stats()["dead_lettered"] == 1


async def test_a_corrupted_entry_is_dead_lettered_not_sent(
    stub: ArchiveStub, archive: Running, make_uploader: Callable[..., Uploader], tmp_path: Path
) -> None:
    box = Outbox(tmp_path / "outbox")
    entry = box.put(cam="yard", jpeg=b"\xff\xd8original", ts=1.0, seq=0, change=1.0)
    (box.directory / "pending" / f"{entry.id}.jpg").write_bytes(b"\xff\xd8origin4l")
    uploader = make_uploader(archive.url, outbox=box)
    async with running(uploader):
        await drained(uploader)
    assert stub.requests == []
    assert "does not match" in box.dead_letters()[0].reason


async def test_what_a_previous_run_left_is_sent_on_start(
    stub: ArchiveStub, archive: Running, make_uploader: Callable[..., Uploader], tmp_path: Path
) -> None:
    box = Outbox(tmp_path / "outbox")
    frames = [make_frame(seq) for seq in range(5)]
    for frame in frames:
        box.put(cam="yard", jpeg=frame.jpeg, ts=frame.ts, seq=frame.seq, change=1.0)
    box.defer(box.pending()[0].id, next_attempt=time.time() + 0.3, error="500 boom")
    uploader = make_uploader(archive.url, outbox=Outbox(tmp_path / "outbox"))
    async with running(uploader):
        await drained(uploader)
    assert_archived_once(stub, frames, uploader.outbox)


async def test_every_frame_ends_archived_once_or_dead_lettered(
    stub: ArchiveStub, archive: Running, make_uploader: Callable[..., Uploader]
) -> None:
    stub.retry_after = "0"
    stub.script = ["500", "413", "429", "hang", "500", "400", "accept"] * 4
    uploader = make_uploader(archive.url, timeout=(2.0, 0.3), concurrency=4)
    frames = [make_frame(seq) for seq in range(30)]
    async with running(uploader):
        for frame in frames:
            uploader.submit(frame, 20.0)
            await asyncio.sleep(0)
        await drained(uploader)
    dead = {d.id for d in uploader.outbox.dead_letters()}
    ids = {f"yard-{round(f.ts * 1000)}-{f.seq}" for f in frames}
    assert len(dead) == 8 and dead <= ids
    assert set(stub.stored) == ids - dead
    for received in stub.stored.values():
        frame = frames[int(received.seq)]
        assert received.sha256 == hashlib.sha256(frame.jpeg).hexdigest()
    assert len(uploader.outbox) == 0


async def test_submit_never_blocks_and_counts_what_it_cannot_take(
    make_uploader: Callable[..., Uploader],
) -> None:
    uploader = make_uploader("https://127.0.0.1:9", max_submitted=2)
    for seq in range(5):
        uploader.submit(make_frame(seq), 20.0)  # no run(): nothing drains the handoff
    assert uploader.stats()["dropped"] == 3 and "disk writer" in str(uploader.stats()["last_error"])
    assert len(uploader.outbox) == 0  # submit itself never touches the disk
    with pytest.raises(TypeError):
        uploader.submit(make_frame(9))


async def test_a_missing_token_is_the_rejected_state(
    stub: ArchiveStub,
    archive: Running,
    make_uploader: Callable[..., Uploader],
    token_file: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    token_file.unlink()
    uploader = make_uploader(archive.url)
    frame = make_frame(0)
    async with running(uploader):
        uploader.submit(frame, 20.0)
        await until(lambda: uploader.stats()["state"] == "token rejected")
        assert "token file" in str(uploader.stats()["last_error"])
        assert stub.requests == []
        # The log names the file, not the archive, which was never asked.
        assert f"uploader: cannot read the token file {token_file}" in caplog.text
        assert "the archive rejected the token" not in caplog.text
        token_file.write_text("good-token")
        await drained(uploader)
    assert_archived_once(stub, [frame], uploader.outbox)


async def test_a_full_disk_is_visible_and_uploads_go_on(
    stub: ArchiveStub, archive: Running, make_uploader: Callable[..., Uploader], tiny_disk: Path
) -> None:
    stored: list[str] = []
    uploader = make_uploader(
        archive.url,
        outbox=Outbox(tiny_disk, max_bytes=None, keep_free=None),  # let the disk fill up
        on_stored=lambda e: stored.append(e.id),
    )
    big = [make_frame(seq, size=40_000) for seq in range(3)]
    async with running(uploader):
        stub.mode = "500"  # nothing leaves: the 64 KiB disk fills up
        for frame in big:
            uploader.submit(frame, 20.0)
        await until(lambda: uploader.stats()["dropped"] == 2, message=uploader.stats)
        assert uploader.stats()["outbox_state"] == "disk full"
        stub.mode = "accept"
        await drained(uploader)
        small = make_frame(9)
        uploader.submit(small, 20.0)  # space again: stored, state clears
        await drained(uploader)
    assert uploader.stats()["outbox_state"] == "ok"
    assert uploader.stats()["last_error"] is None  # recovered: no stale ENOSPC on show
    assert_archived_once(stub, [big[0], small], uploader.outbox)
    assert len(stored) == 2


async def test_a_recovered_archive_drains_the_backlog_without_waiting_out_backoff(
    stub: ArchiveStub, archive: Running, make_uploader: Callable[..., Uploader]
) -> None:
    # Each failed frame waits 30-60 s before its next attempt; the archive comes back at once.
    uploader = make_uploader(archive.url, backoff=requests.Backoff(base=60.0, cap=300.0))
    backlog = [make_frame(seq) for seq in range(8)]
    async with running(uploader):
        stub.mode = "500"
        for frame in backlog:
            uploader.submit(frame, 20.0)
        await until(lambda: uploader.stats()["retried"] == len(backlog))
        stub.mode = "accept"
        fresh = make_frame(99)
        uploader.submit(fresh, 20.0)  # answered at once: the archive is back
        await drained(uploader, timeout=20.0)  # well inside the 30 s the backoff asks for
    assert_archived_once(stub, [*backlog, fresh], uploader.outbox)
    stats = uploader.stats()
    assert stats["backoff_resets"] == 1 and stats["last_error"] is None


async def test_out_of_file_descriptors_delays_frames_but_drops_none(
    stub: ArchiveStub, archive: Running, make_uploader: Callable[..., Uploader]
) -> None:
    uploader = make_uploader(archive.url)
    first, *frames = [make_frame(seq) for seq in range(6)]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    hog: list[int] = []
    async with running(uploader):
        uploader.submit(first, 20.0)  # the uploader is up, TLS loaded, a connection open
        await drained(uploader)
        try:
            # The whole descriptor table taken, as 1,100 idle web clients did in the probe.
            resource.setrlimit(resource.RLIMIT_NOFILE, (_highest_open_fd() + 64, hard))
            with contextlib.suppress(OSError):
                while True:
                    hog.append(os.open(os.devnull, os.O_RDONLY))
            for frame in frames:
                uploader.submit(frame, 20.0)
            await until(lambda: uploader.stats()["fd_waits"] >= 2, message=uploader.stats)
        finally:
            for fd in hog:
                os.close(fd)
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        await drained(uploader)
    assert_archived_once(stub, [first, *frames], uploader.outbox)
    assert uploader.stats()["dropped"] == 0


def _highest_open_fd() -> int:
    return max(int(name) for name in os.listdir("/proc/self/fd"))


async def test_a_nonsense_frame_is_counted_not_fatal(
    stub: ArchiveStub, archive: Running, make_uploader: Callable[..., Uploader]
) -> None:
    uploader = make_uploader(archive.url)
    good = make_frame(1)
    async with running(uploader):
        uploader.submit(Frame(b"\xff\xd8x", float("nan"), 0, 8, 8), 20.0)
        uploader.submit(good, 20.0)
        await drained(uploader)
    assert uploader.stats()["dropped"] == 1
    assert_archived_once(stub, [good], uploader.outbox)


async def test_tls_is_verified_by_default(
    stub: ArchiveStub, archive: Running, make_uploader: Callable[..., Uploader]
) -> None:
    uploader = make_uploader(archive.url, verify=True)  # the system store: trustme is unknown
    async with running(uploader):
        uploader.submit(make_frame(0), 20.0)
        await until(lambda: uploader.stats()["retried"] >= 2, message=uploader.stats)
    assert stub.requests == [] and uploader.stats()["state"] == "unreachable"
    assert "certificate" in str(uploader.stats()["last_error"]).lower()


async def test_verify_takes_an_ssl_context(
    stub: ArchiveStub,
    archive: Running,
    make_uploader: Callable[..., Uploader],
    client_ssl_context: ssl.SSLContext,
) -> None:
    uploader = make_uploader(archive.url, verify=client_ssl_context)
    frame = make_frame(0)
    async with running(uploader):
        uploader.submit(frame, 20.0)
        await drained(uploader)
    assert_archived_once(stub, [frame], uploader.outbox)


async def test_a_missing_ca_bundle_fails_at_start(
    make_uploader: Callable[..., Uploader], tmp_path: Path
) -> None:
    uploader = make_uploader("https://127.0.0.1:9", verify=str(tmp_path / "no-ca.pem"))
    with pytest.raises(requests.InvalidRequest, match="cannot load CA bundle") as info:
        await uploader.run()
    assert isinstance(info.value.__cause__, FileNotFoundError)
