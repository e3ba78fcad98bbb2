"""Response decoding: gzip, deflate (zlib and raw), br, zstd; streamed block by block."""

from __future__ import annotations

import gzip
import zlib

import brotli
import pytest
import zstandard
from echo_servers import EchoServer, payload

from yardcam import requests
from yardcam.requests._decoders import ACCEPT_ENCODING, make_decoder


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "zstd"])
def test_server_encodings_are_decoded(echo_server: EchoServer, coding: str) -> None:
    r = requests.get(f"{echo_server.url}/encoded/{coding}/300000")
    assert r.headers["content-encoding"] == coding
    assert r.content == payload(300_000)
    with requests.get(f"{echo_server.url}/encoded/{coding}/300000", stream=True) as streamed:
        assert b"".join(streamed.iter_content(4096)) == payload(300_000)


def test_accept_encoding_announces_only_what_we_decode() -> None:
    assert ACCEPT_ENCODING == "gzip, deflate, br, zstd"


def feed_in_pieces(coding: str, blob: bytes, size: int = 7) -> bytes:
    decoder = make_decoder(coding)
    out = b"".join(decoder.decode(blob[i : i + size]) for i in range(0, len(blob), size))
    return out + decoder.flush()


def test_incremental_decoding_across_tiny_pieces() -> None:
    data = payload(50_000)
    assert feed_in_pieces("gzip", gzip.compress(data)) == data
    assert feed_in_pieces("deflate", zlib.compress(data)) == data
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    assert feed_in_pieces("deflate", raw.compress(data) + raw.flush()) == data  # headerless
    assert feed_in_pieces("br", brotli.compress(data)) == data
    assert feed_in_pieces("zstd", zstandard.ZstdCompressor().compress(data)) == data


def test_stacked_codings_are_undone_in_reverse() -> None:
    data = payload(10_000)
    assert feed_in_pieces("deflate, gzip", gzip.compress(zlib.compress(data))) == data


def test_identity_and_unknown_pass_through() -> None:
    assert make_decoder(None).decode(b"abc") == b"abc"
    assert make_decoder("identity").decode(b"abc") == b"abc"
    assert make_decoder("x-unknown").decode(b"abc") == b"abc"


def test_corrupt_data_is_content_decoding_error() -> None:
    for coding in ("gzip", "br", "zstd"):
        with pytest.raises(requests.ContentDecodingError):
            feed_in_pieces(coding, b"definitely not compressed" * 3)
