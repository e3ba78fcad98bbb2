"""The ``dir:PATH`` source: a folder of JPEGs played in name order, as a recorded camera."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import simplejpeg

from ._errors import SourceError
from ._frame import Frame
from ._pacing import Pacer

_SUFFIXES = {".jpg", ".jpeg"}


class FolderSource:
    """Every ``*.jpg``/``*.jpeg`` in ``directory`` (not recursive), sorted by name.

    The folder is listed again at the start of each pass, so files added while looping join in.
    Files are read in a worker thread: a slow disk must not stall the event loop.
    """

    def __init__(
        self, directory: Path | str, *, fps: float | None = 10.0, loop: bool = False
    ) -> None:
        self.directory = Path(directory)
        self.fps = fps
        self.loop = loop

    def _listing(self) -> list[Path]:
        try:
            names = sorted(
                p for p in self.directory.iterdir() if p.suffix.lower() in _SUFFIXES and p.is_file()
            )
        except OSError as exc:
            raise SourceError(f"cannot list {self.directory}: {exc.strerror or exc}") from exc
        if not names:
            raise SourceError(f"no JPEG files in {self.directory}")
        return names

    async def frames(self) -> AsyncIterator[Frame]:
        pacer = Pacer(self.fps)
        seq = 0
        while True:
            for path in await asyncio.to_thread(self._listing):
                jpeg, width, height = await asyncio.to_thread(_read_jpeg, path)
                await pacer.wait()
                yield Frame(jpeg, ts=time.time(), seq=seq, width=width, height=height)
                seq += 1
            if not self.loop:
                return


def _read_jpeg(path: Path) -> tuple[bytes, int, int]:
    """The file's bytes and its width and height, checked to be a JPEG."""
    try:
        data = path.read_bytes()
        height, width = simplejpeg.decode_jpeg_header(data)[:2]
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise SourceError(f"{path} is not a JPEG: {exc}") from exc
    return data, width, height
