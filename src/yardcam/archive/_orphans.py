"""Orphan blobs: a blob with no index row, left when a node dies between storing a frame's
blob and writing its row (the ingest writes the row only once the blob is durable, so a crash
can leave an unlisted blob, never a listed partial frame). Nothing reads an orphan; this finds
and deletes them, at start and every ``orphan_sweep_interval``, on any store and index.

Racing an upload in flight: its blob exists for a moment before its row. Only blobs last
written more than ``orphan_min_age`` ago are considered (default 15 minutes; an upload's row
follows its blob within one request, and requests time out long before that). Several nodes
may sweep at once: deleting a missing blob is not an error.
"""

from __future__ import annotations

import asyncio
import logging
import time

from ._archive import Archive
from .storage import StorageError, frame_id_of

log = logging.getLogger(__name__)
_BATCH = 500


async def sweep_orphans(archive: Archive, *, now: float | None = None) -> int:
    """Delete every blob older than ``orphan_min_age`` that no index row names; how many."""
    now = time.time() if now is None else now
    cutoff = now - archive.settings.orphan_min_age
    removed = 0
    async for keys in archive.blobs.list_keys(older_than=cutoff):
        for start in range(0, len(keys), _BATCH):
            batch = {frame_id_of(key): key for key in keys[start : start + _BATCH]}
            listed = await archive.index.existing_frame_ids(list(batch))
            for frame_id, key in batch.items():
                if frame_id not in listed:
                    await archive.blobs.delete(key)
                    removed += 1
    return removed


async def sweep_orphans_forever(archive: Archive, interval: float) -> None:
    """The app's background job: a sweep at start, then every ``interval`` seconds."""
    while True:
        try:
            removed = await sweep_orphans(archive)
            if removed:
                log.warning("deleted %d orphan blobs (stored, never indexed: a crash)", removed)
        except StorageError as exc:
            log.warning("orphan sweep failed, will retry: %s", exc)
        await asyncio.sleep(interval)
