"""Incremental ``Content-Encoding`` decoders (gzip, deflate; br and zstd when installed).

Streaming responses are decoded block by block, so a large compressed download never has to be held
in memory whole.
"""

from __future__ import annotations

import importlib
import zlib
from collections.abc import Callable
from typing import Any, Protocol

from yardcam.requests.exceptions import ContentDecodingError


def _optional(module: str) -> Any:
    """An optional codec package (pip install yardcam[compression]), or None."""
    try:
        return importlib.import_module(module)
    except ImportError:  # pragma: no cover - depends on the installation
        return None


brotli = _optional("brotli")
zstandard = _optional("zstandard")

__all__ = ["ACCEPT_ENCODING", "Decoder", "make_decoder"]


class Decoder(Protocol):
    def decode(self, data: bytes) -> bytes: ...
    def flush(self) -> bytes: ...


class _Identity:
    def decode(self, data: bytes) -> bytes:
        return data

    def flush(self) -> bytes:
        return b""


class _Zlib:
    """gzip (wbits 16+15) or deflate; "deflate" in the wild is often raw deflate, so sniff it."""

    def __init__(self, gzip: bool) -> None:
        self._gzip = gzip
        self._obj = zlib.decompressobj(16 + zlib.MAX_WBITS if gzip else zlib.MAX_WBITS)
        self._first = True

    def decode(self, data: bytes) -> bytes:
        try:
            return self._obj.decompress(data)
        except zlib.error:
            if self._gzip or not self._first:
                raise
            self._obj = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, no zlib header
            return self._obj.decompress(data)
        finally:
            self._first = False

    def flush(self) -> bytes:
        return self._obj.flush()


class _Brotli:
    def __init__(self) -> None:
        self._obj = brotli.Decompressor()

    def decode(self, data: bytes) -> bytes:
        return self._obj.process(data)

    def flush(self) -> bytes:
        return b""


class _Zstd:
    def __init__(self) -> None:
        self._obj = zstandard.ZstdDecompressor().decompressobj()

    def decode(self, data: bytes) -> bytes:
        return self._obj.decompress(data)

    def flush(self) -> bytes:
        return b""


class _Chain:
    """Several codings (``Content-Encoding: gzip, br``): undo them in reverse order."""

    def __init__(self, decoders: list[Decoder]) -> None:
        self._decoders = decoders

    def decode(self, data: bytes) -> bytes:
        for decoder in self._decoders:
            data = decoder.decode(data)
        return data

    def flush(self) -> bytes:
        data = b""
        for decoder in self._decoders:
            data = decoder.decode(data) + decoder.flush() if data else decoder.flush()
        return data


class _Guarded:
    """Turns a codec library's own errors into :class:`ContentDecodingError`."""

    def __init__(self, decoder: Decoder, coding: str) -> None:
        self._decoder = decoder
        self._coding = coding

    def decode(self, data: bytes) -> bytes:
        try:
            return self._decoder.decode(data)
        except Exception as exc:  # boundary: zlib/brotli/zstd raise their own unrelated types
            raise ContentDecodingError(f"cannot decode {self._coding} body: {exc}") from exc

    def flush(self) -> bytes:
        try:
            return self._decoder.flush()
        except Exception as exc:  # boundary: as above
            raise ContentDecodingError(f"cannot decode {self._coding} body: {exc}") from exc


_FACTORIES: dict[str, Callable[[], Decoder]] = {
    "gzip": lambda: _Zlib(gzip=True),
    "x-gzip": lambda: _Zlib(gzip=True),
    "deflate": lambda: _Zlib(gzip=False),
}
if brotli is not None:
    _FACTORIES["br"] = _Brotli
if zstandard is not None:
    _FACTORIES["zstd"] = _Zstd

#: What we announce, so a server only uses codings we can undo.
ACCEPT_ENCODING = ", ".join(name for name in _FACTORIES if name != "x-gzip")


def make_decoder(content_encoding: str | None) -> Decoder:
    """A decoder for the response's ``Content-Encoding``; unknown codings pass through untouched."""
    if not content_encoding:
        return _Identity()
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    decoders: list[Decoder] = [_FACTORIES[c]() for c in reversed(codings) if c in _FACTORIES]
    if not decoders:
        return _Identity()
    inner = decoders[0] if len(decoders) == 1 else _Chain(decoders)
    return _Guarded(inner, content_encoding)
