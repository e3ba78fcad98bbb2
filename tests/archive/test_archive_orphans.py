"""Orphan blobs (stored, never indexed: a node killed between the two) are found and deleted,
at start and by the sweep, on both stacks; a blob young enough to be an upload in flight, and
every indexed frame's blob, are kept."""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from archive.helpers import blob_keys, make_jpeg, make_settings, store_frame
from yardcam.archive import Archive, ArchiveSettings
from yardcam.archive._orphans import sweep_orphans
from yardcam.archive.storage import BlobNotFound, blob_key, new_frame_id

#: The session's shared bucket holds other tests' blobs, which this index does not list: the
#: sweeps here run on a bucket of their own.
_BUCKET = f"orphans-{secrets.token_hex(4)}"


@pytest.fixture
def own_settings(stack: str, tmp_path: Path, request: pytest.FixtureRequest) -> ArchiveSettings:
    settings = make_settings(stack, tmp_path / "archive", request)
    if stack == "file+sqlite":
        return settings
    blobs = urlunsplit(urlsplit(settings.blobs)._replace(netloc=_BUCKET))
    return dataclasses.replace(settings, blobs=blobs)


async def plant_orphan(archive: Archive, cam: str = "yard") -> str:
    """A blob committed as the ingest does, whose index row was never written."""
    key = blob_key(cam, new_frame_id(), time.time())
    writer = await archive.blobs.open_writer(key)
    await writer.write(make_jpeg(seed=7))
    await writer.commit()
    return key


async def test_the_sweep_deletes_old_orphans_only(own_settings: ArchiveSettings) -> None:
    async with Archive(own_settings) as archive:
        frame = await store_frame(archive, "yard", time.time(), make_jpeg(seed=1))
        orphan = await plant_orphan(archive)
        # Just written: it may be an upload whose row is on its way.
        assert await sweep_orphans(archive) == 0
        later = time.time() + 2 * own_settings.orphan_min_age
        assert await sweep_orphans(archive, now=later) == 1
        with pytest.raises(BlobNotFound):
            await archive.blobs.read(orphan)
        assert await archive.blobs.read(frame.blob_key) == make_jpeg(seed=1)
        assert await sweep_orphans(archive, now=later) == 0


def test_a_node_sweeps_at_start(own_settings: ArchiveSettings, start_node) -> None:
    settings = dataclasses.replace(own_settings, orphan_sweep_interval=3600.0, orphan_min_age=0.0)

    async def plant() -> tuple[str, str]:
        async with Archive(settings) as archive:
            frame = await store_frame(archive, "yard", time.time(), make_jpeg(seed=2))
            return frame.blob_key, await plant_orphan(archive)

    kept, orphan = asyncio.run(plant())
    start_node(settings)
    deadline = time.monotonic() + 30
    while orphan in asyncio.run(blob_keys(settings, "yard")):
        assert time.monotonic() < deadline, "the orphan blob survived the node's start"
        time.sleep(0.05)
    assert kept in asyncio.run(blob_keys(settings, "yard"))
