"""``yardcam archive export``: a cam's frames into a zip, streamed, with a progress bar.

Frames are read one at a time (blob chunks straight into the zip member), so memory stays flat
however many frames are exported. JPEGs are stored, not deflated: they do not compress.
A ``frames.jsonl`` member lists every exported frame's metadata.

Each frame's member is dated with its capture time (zip's default is 1980-01-01): in the
exporting machine's local time, as zip tools expect, plus the "UT" extra field with the exact
UTC second, which unzip uses when present.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import struct
import tempfile
import time
import zipfile
from dataclasses import asdict
from pathlib import Path
from typing import BinaryIO, Protocol

from ._archive import Archive

_PAGE = 500
_ZIP_DATES = ((1980, 1, 1, 0, 0, 0), (2107, 12, 31, 23, 59, 58))  # what a zip entry can hold
_UT_FIELD = 0x5455  # extended timestamp: flags (bit 0: mtime follows), mtime as int32 UTC


class ProgressLike(Protocol):
    """What export needs of a progress bar (a ``tqdm`` bar fits; the CLI passes one)."""

    def reset(self, total: float | None = None) -> None: ...
    def update(self, n: float = 1) -> bool | None: ...


def _member(name: str, ts: float) -> zipfile.ZipInfo:
    """A stored (not deflated) zip entry dated ``ts``."""
    low, high = _ZIP_DATES
    info = zipfile.ZipInfo(name, date_time=min(max(time.localtime(ts)[:6], low), high))
    if 0 <= ts < 2**31:
        info.extra = struct.pack("<HHBl", _UT_FIELD, 5, 1, int(ts))
    return info


def _copy_into(zf: zipfile.ZipFile, info: zipfile.ZipInfo, source: BinaryIO) -> None:
    with zf.open(info, "w", force_zip64=True) as member:
        shutil.copyfileobj(source, member)


async def export_zip(
    archive: Archive,
    cam: str,
    out: Path,
    *,
    since: float | None = None,
    until: float | None = None,
    progress: ProgressLike | None = None,
) -> int:
    """Write the cam's frames with ``since <= ts < until`` to ``out``; returns the count.

    ``progress`` is told the number of frames (``reset(total=)``), then each one (``update()``).
    """
    hours = await archive.index.counts_per_hour(cam, since or 0.0, until or float(2**33))
    if progress is not None:
        progress.reset(total=sum(c for _, c in hours))
    count, cursor = 0, None
    temp = out.with_name(out.name + ".part")
    zf = await asyncio.to_thread(zipfile.ZipFile, temp, "w", zipfile.ZIP_STORED, True)
    # The manifest goes to a temp file, not a list, so memory stays flat for millions of frames.
    manifest = tempfile.TemporaryFile()  # noqa: SIM115 - closed in finally
    try:
        while True:
            page = await archive.index.list_frames(
                cam=cam, since=since, until=until, limit=_PAGE, cursor=cursor, newest_first=False
            )
            for frame in page.frames:
                stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(frame.ts))
                info = _member(f"{cam}/{stamp}-{frame.id}.jpg", frame.ts)
                member = zf.open(info, "w", force_zip64=True)
                try:
                    async for chunk in archive.blobs.stream(frame.blob_key):
                        await asyncio.to_thread(member.write, chunk)
                finally:
                    await asyncio.to_thread(member.close)
                manifest.write(json.dumps(asdict(frame)).encode() + b"\n")
                count += 1
                if progress is not None:
                    progress.update()
            cursor = page.next_cursor
            if cursor is None:
                break
        manifest.seek(0)
        info = _member("frames.jsonl", time.time())
        await asyncio.to_thread(_copy_into, zf, info, manifest)
    except BaseException:
        zf.close()
        temp.unlink(missing_ok=True)
        raise
    finally:
        manifest.close()
    await asyncio.to_thread(zf.close)
    try:
        temp.replace(out)
    except OSError:
        temp.unlink(missing_ok=True)  # never a stray OUT.part next to what could not be made
        raise
    return count
