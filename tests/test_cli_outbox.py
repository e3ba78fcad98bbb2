"""``yardcam outbox list | retry | drain`` on a real outbox, drained into a real archive."""

from __future__ import annotations

import asyncio
import fcntl
import os
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from serving import Running, TLSFiles
from yardcam.archive import Archive, ArchiveSettings, create_app, create_token
from yardcam.camera import SyntheticScene
from yardcam.cli import main
from yardcam.outbox import Outbox


def _fill(data: Path, count: int) -> Outbox:
    outbox = Outbox(data / "cam" / "outbox")
    scene = SyntheticScene(seed=3, width=160, height=96)
    for seq in range(count):
        outbox.put(cam="yard", jpeg=scene.jpeg(seq), ts=1_700_000_000 + seq, seq=seq, change=9.0)
    return outbox


def test_list_and_retry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outbox = _fill(tmp_path, 3)
    refused = outbox.pending()[0].id
    outbox.dead_letter(refused, "415 not a JPEG")
    data = ["--data-dir", str(tmp_path)]
    assert main(["outbox", "list", *data]) == 0
    out, err = capsys.readouterr()
    assert out.count("pending  ") == 2 and f"dead     {refused}" in out
    assert "refused: 415 not a JPEG" in out and "2 pending" in err and "1 dead" in err
    assert main(["outbox", "retry", *data]) == 2  # says to name ids or --all
    assert main(["outbox", "retry", "--all", *data]) == 0
    assert "1 frame back in the queue" in capsys.readouterr().out
    reopened = Outbox(tmp_path / "cam" / "outbox")
    assert len(reopened) == 3 and reopened.dead_count == 0
    assert reopened.get(refused) is not None and reopened.get(refused).attempts == 0
    assert main(["outbox", "retry", refused, *data]) == 1  # no longer dead


def test_drain_sends_everything_to_the_archive(
    tmp_path: Path,
    tls_files: TLSFiles,
    serve_app: Callable[..., Running],
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = ArchiveSettings.for_data_dir(tmp_path / "archive")
    token = tmp_path / "token"
    token.write_text(asyncio.run(create_token(settings, "yard", "upload")))
    archive = serve_app(create_app(settings), tls_files, lifespan="on")
    data = tmp_path / "data"
    _fill(data, 5)
    config = tmp_path / "yardcam.toml"
    config.write_text(
        f'data_dir = "{data}"\narchive_url = "{archive.url}/frames"\n'
        f'token_file = "{token}"\nca_bundle = "{tls_files.ca_pem}"\n'
    )
    assert main(["outbox", "drain", "--config", str(config)]) == 0
    out, err = capsys.readouterr()
    assert "sent 5, dead-lettered 0, 0 still pending" in out
    assert "\r" not in err  # not a terminal: no progress bar drawn into the log

    async def stored() -> int:
        async with Archive(settings) as opened:
            page = await opened.index.list_frames(cam="yard", limit=100)
            return len(page.frames)

    assert asyncio.run(stored()) == 5
    assert len(Outbox(data / "cam" / "outbox")) == 0


def test_drain_with_the_embedded_archive_says_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["outbox", "drain", "--data-dir", str(tmp_path)]) == 2
    assert "start that and the outbox drains by itself" in capsys.readouterr().err


def test_a_running_cam_holds_its_outbox_and_the_refusal_says_how_to_stop_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # What 'yardcam run' holds while it runs (see yardcam.run.lock_data_dir).
    lock = os.open(tmp_path / "yardcam.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(lock, b"4242\n")
        assert main(["outbox", "retry", "--all", "--data-dir", str(tmp_path)]) == 1
        # Not "start yardcam run and it drains by itself": it is running.
        assert main(["outbox", "drain", "--data-dir", str(tmp_path)]) == 1
    finally:
        os.close(lock)
    err = capsys.readouterr().err
    assert err.count("in use by another yardcam run (pid 4242)") == 2
    assert "stop that one first (Ctrl-C where it runs, or kill -TERM that pid)" in err
    # 'yardcam status' as printed fails (it needs an API token): never offered bare.
    assert "status'" not in err and "drains by itself" not in err


def test_a_drain_that_gives_up_says_the_frames_wait_and_what_to_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:  # a port nobody listens on: the archive is down
        probe.bind(("127.0.0.1", 0))
        url = f"https://127.0.0.1:{probe.getsockname()[1]}/frames"
    token = tmp_path / "token"
    token.write_text("yc_000000000000_unused")
    data = tmp_path / "data"
    _fill(data, 2)
    config = tmp_path / "yardcam.toml"
    config.write_text(f'data_dir = "{data}"\narchive_url = "{url}"\ntoken_file = "{token}"\n')
    assert main(["outbox", "drain", "--config", str(config), "--timeout", "0.5"]) == 1
    err = capsys.readouterr().err
    assert "gave up after 0.5 s without progress; archive unreachable" in err
    assert f"the frames stay queued: once {url} answers" in err
    assert f"outbox drain --config {config}' again, or start the cam" in err
    assert len(Outbox(data / "cam" / "outbox")) == 2
