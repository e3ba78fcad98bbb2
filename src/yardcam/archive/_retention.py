"""Retention: per cam, drop frames older than ``max_age`` and the oldest beyond ``max_bytes``.

Safe to run on several nodes at once: each frame is claimed by deleting its index row (only
one deleter gets the row back), then its blob is removed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from ._archive import Archive
from .storage import FrameRecord, StorageError

log = logging.getLogger(__name__)
_BATCH = 500


@dataclass(frozen=True, slots=True)
class PurgeResult:
    frames: int = 0
    bytes: int = 0


async def _drop(archive: Archive, frames: list[FrameRecord]) -> PurgeResult:
    count = size = 0
    for frame in frames:
        if await archive.index.delete_frame(frame.id) is None:
            continue  # another node purged it first
        await archive.blobs.delete(frame.blob_key)
        archive.forget(frame.id)
        count += 1
        size += frame.size
    return PurgeResult(count, size)


async def purge(archive: Archive, *, now: float | None = None) -> PurgeResult:
    """Apply every cam's retention once; returns what was removed."""
    now = time.time() if now is None else now
    total_frames = total_bytes = 0
    for cam in await archive.index.list_cams():
        limits = archive.settings.retention_for(cam.cam)
        remaining = cam.bytes
        if limits.max_age is not None:
            while batch := await archive.index.oldest_frames(
                cam.cam, before=now - limits.max_age, limit=_BATCH
            ):
                dropped = await _drop(archive, batch)
                remaining -= dropped.bytes
                total_frames += dropped.frames
                total_bytes += dropped.bytes
                if dropped.frames == 0:
                    break
        if limits.max_bytes is not None:
            while remaining > limits.max_bytes:
                batch = await archive.index.oldest_frames(cam.cam, limit=_BATCH)
                excess, chosen = remaining - limits.max_bytes, []
                for frame in batch:
                    if excess <= 0:
                        break
                    chosen.append(frame)
                    excess -= frame.size
                dropped = await _drop(archive, chosen)
                if not chosen:
                    break
                remaining -= sum(f.size for f in chosen)
                total_frames += dropped.frames
                total_bytes += dropped.bytes
    return PurgeResult(total_frames, total_bytes)


async def purge_forever(archive: Archive, interval: float) -> None:
    """The app's background job; a storage outage is logged and retried next round."""
    while True:
        try:
            result = await purge(archive)
            if result.frames:
                log.info("retention purged %d frames (%d bytes)", result.frames, result.bytes)
        except StorageError as exc:
            log.warning("retention purge failed, will retry: %s", exc)
        await asyncio.sleep(interval)
