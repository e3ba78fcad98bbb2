"""Archive storage: a :class:`BlobStore` for JPEG bytes and a :class:`FrameIndex` for metadata.

Both are chosen by URL, so one config line moves the archive from a single box to a cluster::

    blobs = await open_blob_store("file:///var/lib/yardcam/blobs")   # or "s3://bucket?endpoint=..."
    index = await open_frame_index("sqlite:///var/lib/yardcam/index.db")  # or "postgresql://..."

The index schema is versioned: opening an index applies the migrations it lacks (once, under a
lock shared by every node) and refuses one made by a newer yardcam. To change the schema, add a
migration to ``_migrations.MIGRATIONS``, never edit a shipped one; the steps are in that
module's docstring.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from ._keys import FRAME_ID_PATTERN, blob_key, frame_id_of, is_frame_id, new_frame_id
from ._types import (
    BlobNotFound,
    BlobStore,
    BlobWriter,
    CamSummary,
    EventPage,
    EventSummary,
    FrameIndex,
    FramePage,
    FrameRecord,
    StorageError,
    StoredBlob,
    TokenRecord,
)


async def open_blob_store(url: str) -> BlobStore:
    """``file:///abs/dir`` or ``s3://bucket?endpoint=http://host:port[&region=..]``."""
    scheme = urlsplit(url).scheme
    if scheme == "file":
        from ._file import FileBlobStore

        return FileBlobStore(Path(unquote(urlsplit(url).path)))
    if scheme == "s3":
        from ._s3 import S3BlobStore

        store = S3BlobStore(url)
        await store.open()
        return store
    raise ValueError(f"unsupported blob store URL {url!r} (use file:// or s3://)")


def sqlite_path(url: str) -> Path | None:
    """The database file of a ``sqlite:///abs/path.db`` index URL; None for other indexes."""
    parts = urlsplit(url)
    return Path(unquote(parts.path)).resolve() if parts.scheme == "sqlite" else None


async def open_frame_index(url: str) -> FrameIndex:
    """``sqlite:///abs/path.db`` or ``postgresql://user@host:port/db``."""
    scheme = urlsplit(url).scheme
    if (path := sqlite_path(url)) is not None:
        from ._sqlite import SQLiteIndex

        sqlite = SQLiteIndex(path)
        try:
            await sqlite.open()
        except BaseException:
            await sqlite.close()
            raise
        return sqlite
    if scheme in {"postgresql", "postgres"}:
        from ._postgres import PostgresIndex

        index = PostgresIndex(url)
        await index.open()
        return index
    raise ValueError(f"unsupported index URL {url!r} (use sqlite:// or postgresql://)")


__all__ = [
    "FRAME_ID_PATTERN",
    "BlobNotFound",
    "BlobStore",
    "BlobWriter",
    "CamSummary",
    "EventPage",
    "EventSummary",
    "FrameIndex",
    "FramePage",
    "FrameRecord",
    "StorageError",
    "StoredBlob",
    "TokenRecord",
    "blob_key",
    "frame_id_of",
    "is_frame_id",
    "new_frame_id",
    "open_blob_store",
    "open_frame_index",
    "sqlite_path",
]
