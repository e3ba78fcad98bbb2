"""One node's open storage, handed to every route (the API's and the gallery's)."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field

import simplejpeg

from ._settings import ArchiveSettings
from .storage import BlobStore, FrameIndex, FrameRecord, open_blob_store, open_frame_index


class ThumbnailError(ValueError):
    """The stored blob could not be decoded (it passed the ingest check, so this is rare)."""


def make_thumbnail(jpeg: bytes, min_height: int) -> bytes:
    """Decode with libjpeg's DCT scaling (cheap: it skips most of the IDCT) and re-encode."""
    try:
        image = simplejpeg.decode_jpeg(
            jpeg, min_height=min_height, min_width=1, fastdct=True, fastupsample=True
        )
    except ValueError as exc:
        raise ThumbnailError(str(exc)) from exc
    return simplejpeg.encode_jpeg(image, quality=75, colorsubsampling="420", fastdct=True)


@dataclass
class Archive:
    """``settings`` + open ``blobs`` and ``index``; thumbnails cached in memory (bounded LRU).

    Frames are immutable (the id names the content), so a cached thumbnail never goes stale.
    """

    settings: ArchiveSettings
    blobs: BlobStore
    index: FrameIndex
    _thumbs: OrderedDict[str, bytes] = field(default_factory=OrderedDict, repr=False)

    @classmethod
    async def open(cls, settings: ArchiveSettings) -> Archive:
        blobs = await open_blob_store(settings.blobs)
        try:
            index = await open_frame_index(settings.index)
        except BaseException:
            await blobs.close()
            raise
        return cls(settings, blobs, index)

    async def thumbnail(self, record: FrameRecord) -> bytes:
        """A small JPEG of the frame; raises BlobNotFound / ThumbnailError."""
        cached = self._thumbs.get(record.id)
        if cached is not None:
            self._thumbs.move_to_end(record.id)
            return cached
        jpeg = await self.blobs.read(record.blob_key)
        thumb = await asyncio.to_thread(make_thumbnail, jpeg, self.settings.thumb_size)
        self._thumbs[record.id] = thumb
        while len(self._thumbs) > self.settings.thumb_cache_entries:
            self._thumbs.popitem(last=False)
        return thumb

    def forget(self, frame_id: str) -> None:
        self._thumbs.pop(frame_id, None)

    async def close(self) -> None:
        try:
            await self.index.close()
        finally:
            await self.blobs.close()
