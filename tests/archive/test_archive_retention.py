"""Retention purge and zip export on both stacks, through the library and the CLI."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from tqdm import tqdm

from archive.helpers import blob_keys, make_jpeg, store_frame, stored_keys, unique_cam
from yardcam.archive import Archive, ArchiveSettings, Retention, purge
from yardcam.archive._export import export_zip

NOW = 2_000_000_000.0
DAY = 86400.0


async def test_purge_drops_frames_older_than_max_age(settings: ArchiveSettings) -> None:
    old_cam, keep_cam = unique_cam("old"), unique_cam("keep")
    settings = replace(settings, retention={old_cam: Retention(max_age=2 * DAY)})
    async with Archive(settings) as archive:
        for age in (5, 3, 1, 0.5):
            await store_frame(archive, old_cam, NOW - age * DAY, make_jpeg(seed=int(age * 10)))
        await store_frame(archive, keep_cam, NOW - 30 * DAY, make_jpeg())
        result = await purge(archive, now=NOW)
        assert result.frames == 2
        left = await archive.index.list_frames(cam=old_cam)
        assert [f.ts for f in left.frames] == [NOW - 0.5 * DAY, NOW - 1 * DAY]
        assert len(await blob_keys(settings, old_cam)) == 2
        assert len(await blob_keys(settings, keep_cam)) == 1  # no limit for that cam
        assert (await purge(archive, now=NOW)).frames == 0


async def test_purge_keeps_newest_frames_within_max_bytes(settings: ArchiveSettings) -> None:
    cam = unique_cam("full")
    frame = make_jpeg(64, 48)
    settings = replace(settings, retention={"*": Retention(max_bytes=3 * len(frame))})
    async with Archive(settings) as archive:
        stored = [await store_frame(archive, cam, NOW + i, frame) for i in range(5)]
        result = await purge(archive, now=NOW)
        assert result == type(result)(2, 2 * len(frame))
        left = await archive.index.list_frames(cam=cam, newest_first=False)
        assert [f.id for f in left.frames] == [s.id for s in stored[2:]]
        assert sorted(await blob_keys(settings, cam)) == sorted(s.blob_key for s in stored[2:])


async def test_export_writes_a_zip_of_frames_and_a_manifest(
    settings: ArchiveSettings, tmp_path: Path
) -> None:
    cam = unique_cam("exp")
    async with Archive(settings) as archive:
        bodies = [make_jpeg(seed=i) for i in range(4)]
        for i, body in enumerate(bodies):
            await store_frame(archive, cam, NOW + i * 60, body)
        progress = io.StringIO()
        out = tmp_path / "out.zip"
        with tqdm(file=progress, disable=False) as bar:  # what the CLI passes, on a terminal
            count = await export_zip(archive, cam, out, since=NOW + 60, progress=bar)
    assert count == 3
    with zipfile.ZipFile(out) as zf:
        names = [n for n in zf.namelist() if n.endswith(".jpg")]
        assert [zf.read(n) for n in names] == bodies[1:]
        manifest = [json.loads(line) for line in zf.read("frames.jsonl").splitlines()]
    assert [m["ts"] for m in manifest] == [NOW + 60, NOW + 120, NOW + 180]
    assert "3/3" in progress.getvalue()
    assert not list(tmp_path.glob("*.part"))


@pytest.mark.parametrize("stack", ["file+sqlite"], indirect=True)
def test_background_purge_runs_in_the_app(settings: ArchiveSettings, start_node) -> None:
    import time

    from yardcam import requests

    cam = unique_cam("bg")
    settings = replace(settings, purge_interval=0.05, retention={cam: Retention(max_age=DAY)})

    async def seed() -> None:
        async with Archive(settings) as archive:
            await store_frame(archive, cam, time.time() - 2 * DAY, make_jpeg())

    asyncio.run(seed())
    node = start_node(settings)
    deadline = time.monotonic() + 20
    while stored_keys(settings, cam):
        assert time.monotonic() < deadline, "the purge job never ran"
        time.sleep(0.05)
    frames = requests.get(f"{node.url}/frames?cam={cam}", auth=requests.BearerAuth(node.read))
    assert frames.json()["frames"] == []
