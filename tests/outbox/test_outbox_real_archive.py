"""The Uploader against the real archive service (yardcam.archive over HTTPS): the wire format
is the one the archive accepts, and a resend after a lost answer is stored once."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Callable
from pathlib import Path

from serving import Running, TLSFiles
from yardcam import requests
from yardcam.archive import ArchiveSettings, create_app, create_token
from yardcam.camera import Frame, SyntheticScene
from yardcam.outbox import Outbox, TokenSource, Uploader


async def test_frames_reach_the_archive_once(
    tmp_path: Path, tls_files: TLSFiles, serve_app: Callable[..., Running]
) -> None:
    settings = ArchiveSettings.for_data_dir(tmp_path / "archive")
    token_file = tmp_path / "token"
    token_file.write_text(await create_token(settings, cam="yard", scope="upload"))
    reader = await create_token(settings, cam="yard", scope="read")
    archive = serve_app(create_app(settings), tls_files, lifespan="on")
    scene = SyntheticScene(seed=2, width=320, height=180)
    frames = [Frame(scene.jpeg(i), 1_700_000_000 + i / 10, i, 320, 180) for i in range(4)]

    async def upload(outbox: Outbox) -> Uploader:
        uploader = Uploader(
            outbox,
            f"{archive.url}/frames",
            cam="yard",
            token=TokenSource(token_file),
            verify=str(tls_files.ca_pem),
        )
        task = asyncio.create_task(uploader.run())
        for frame in frames:
            uploader.submit(frame, 33.0)
        await asyncio.wait_for(uploader.join(), 30)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return uploader

    first = await upload(Outbox(tmp_path / "outbox"))
    assert first.stats()["sent"] == 4 and first.stats()["state"] == "ok"
    # A cam that crashed before removing its entries sends them again: the archive keeps one.
    again = await upload(Outbox(tmp_path / "outbox-after-crash"))
    assert again.stats()["sent"] == 4

    async with requests.AsyncSession(verify=str(tls_files.ca_pem)) as session:
        r = await session.get(
            f"{archive.url}/frames",
            params={"cam": "yard", "order": "asc"},
            headers={"Authorization": f"Bearer {reader}"},
        )
    r.raise_for_status()
    items = r.json()["frames"]
    assert [item["sha256"] for item in items] == [
        hashlib.sha256(f.jpeg).hexdigest() for f in frames
    ]
    assert [(item["seq"], item["change"]) for item in items] == [(i, 33.0) for i in range(4)]
    assert [item["ts"] for item in items] == [round(f.ts, 3) for f in frames]
