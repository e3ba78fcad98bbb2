"""One node's open storage, handed to every route (the API's and the gallery's)."""

from __future__ import annotations

import asyncio
from collections import OrderedDict

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


class Archive:
    """One node's storage: ``settings`` + ``blobs`` + ``index``, thumbnails cached (bounded LRU).

    Made without I/O so routes (the gallery's too) can hold it from app creation; the app's
    lifespan calls :meth:`open` before serving and :meth:`close` after. Frames are immutable
    (the id names the content), so a cached thumbnail never goes stale.
    """

    def __init__(self, settings: ArchiveSettings) -> None:
        self.settings = settings
        self._blobs: BlobStore | None = None
        self._index: FrameIndex | None = None
        self._thumbs: OrderedDict[str, bytes] = OrderedDict()

    @property
    def blobs(self) -> BlobStore:
        if self._blobs is None:
            raise RuntimeError("archive storage is not open (call Archive.open first)")
        return self._blobs

    @property
    def index(self) -> FrameIndex:
        if self._index is None:
            raise RuntimeError("archive storage is not open (call Archive.open first)")
        return self._index

    async def open(self) -> None:
        blobs = await open_blob_store(self.settings.blobs)
        try:
            self._index = await open_frame_index(self.settings.index)
        except BaseException:
            await blobs.close()
            raise
        self._blobs = blobs

    async def __aenter__(self) -> Archive:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

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
        """Drop a deleted frame's cached thumbnail."""
        self._thumbs.pop(frame_id, None)

    async def close(self) -> None:
        index, blobs, self._index, self._blobs = self._index, self._blobs, None, None
        try:
            if index is not None:
                await index.close()
        finally:
            if blobs is not None:
                await blobs.close()
