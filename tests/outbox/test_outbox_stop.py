"""A clean stop (what SIGTERM does): every frame ``submit`` accepted is on disk before ``run()``
returns, and reaches the archive exactly once after the next start; several cameras share one
uploader and are served in turn."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

from serving import Running, TLSFiles
from yardcam import requests
from yardcam.archive import ArchiveSettings, create_app, create_token
from yardcam.camera import Frame, SyntheticScene
from yardcam.outbox import Outbox, TokenSource, Uploader
from yardcam.outbox._fair import FairQueue


async def test_frames_queued_in_memory_survive_a_stop_and_go_out_once(
    tmp_path: Path, tls_files: TLSFiles, serve_app: Callable[..., Running]
) -> None:
    settings = ArchiveSettings.for_data_dir(tmp_path / "archive")
    tokens = {}
    for cam in ("front", "back"):  # cam-bound upload tokens: each uploads only as itself
        path = tmp_path / f"token-{cam}"
        path.write_text(await create_token(settings, cam=cam, scope="upload"))
        tokens[cam] = TokenSource(path)
    reader = await create_token(settings, cam=None, scope="read")
    archive = serve_app(create_app(settings), tls_files, lifespan="on")
    scene = SyntheticScene(seed=5, width=160, height=96)
    jpegs = [scene.jpeg(i) for i in range(4)]
    submitted = {"front": 150, "back": 40}

    def uploader() -> Uploader:
        return Uploader(
            Outbox(tmp_path / "outbox"),
            f"{archive.url}/frames",
            cam="front",
            token=tokens["front"],
            tokens=tokens,
            verify=str(tls_files.ca_pem),
        )

    first = uploader()
    task = asyncio.create_task(first.run())
    await asyncio.sleep(0)  # run() has started
    for cam, count in submitted.items():
        for seq in range(count):
            frame = Frame(jpegs[seq % 4], 1_700_000_000 + seq / 10, seq, 160, 96)
            first.submit(frame, 50.0, cam=cam)  # all of them in memory: nothing awaited yet
    await first.close(grace=0.0)
    await asyncio.wait_for(task, 30)
    stats = first.stats()
    assert stats["dropped"] == 0
    assert stats["sent"] + stats["pending"] == sum(submitted.values())
    first.submit(Frame(jpegs[0], 1_700_000_100.0, 999, 160, 96), 50.0)
    assert first.stats()["dropped"] == 1  # after close: refused, and counted

    second = uploader()  # the next start
    task = asyncio.create_task(second.run())
    await asyncio.wait_for(second.join(), 60)
    await second.close()
    with contextlib.suppress(asyncio.CancelledError):
        await task

    async with requests.AsyncSession(verify=str(tls_files.ca_pem)) as session:
        for cam, count in submitted.items():
            r = await session.get(
                f"{archive.url}/frames",
                params={"cam": cam, "limit": "1000"},
                headers={"Authorization": f"Bearer {reader}"},
            )
            r.raise_for_status()
            seqs = sorted(item["seq"] for item in r.json()["frames"])
            assert seqs == list(range(count)), cam  # every frame, each exactly once


def test_the_ready_queue_takes_cameras_in_turn() -> None:
    queue = FairQueue(key=lambda entry_id: entry_id.rsplit("-", 2)[0])
    for i in range(5):
        queue.put_nowait(f"busy-cam-{1000 + i}-{i}")
    queue.put_nowait("quiet-2000-0")
    order = [queue.get_nowait() for _ in range(6)]
    assert order[1] == "quiet-2000-0"  # not behind the busy camera's whole burst
    assert [o for o in order if o.startswith("busy")] == [
        f"busy-cam-{1000 + i}-{i}" for i in range(5)
    ]
