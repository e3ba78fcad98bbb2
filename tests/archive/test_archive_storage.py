"""The storage interfaces directly: atomic blobs, S3 multipart, index semantics, URL choice."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import os
import shutil
import time
from pathlib import Path

import pytest

from archive.helpers import Node, blob_keys, make_jpeg, store_frame, unique_cam
from yardcam import requests
from yardcam.archive import Archive, ArchiveSettings
from yardcam.archive.storage import (
    BlobNotFound,
    BlobStore,
    FrameRecord,
    StorageError,
    TokenRecord,
    blob_key,
    is_frame_id,
    new_frame_id,
    open_blob_store,
    open_frame_index,
)
from yardcam.archive.storage._cursor import decode_cursor, encode_cursor
from yardcam.archive.storage._keys import check_key


@pytest.mark.parametrize(
    "url", ["ftp://x/y", "mysql://db", "", "s3://?endpoint=http://127.0.0.1:1"]
)
async def test_unsupported_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError):
        if url.startswith("mysql"):
            await open_frame_index(url)
        else:
            await open_blob_store(url)


@pytest.mark.parametrize(
    "key",
    ["../etc/passwd", "yard/../../x.jpg", "yard/2026/01/01/ABC.jpg", "/abs/2026/01/01/a.jpg", ""],
)
def test_only_server_made_keys_are_accepted(key: str) -> None:
    with pytest.raises(ValueError):
        check_key(key)
    check_key(blob_key("yard", new_frame_id(), time.time()))


def test_cursor_round_trip_and_garbage() -> None:
    assert decode_cursor(encode_cursor(12.5, "abc")) == (12.5, "abc")
    for bad in ["", "!!!", "bm9wZQ", encode_cursor(float("inf"), "x")]:
        with pytest.raises(ValueError):
            decode_cursor(bad)


def test_frame_ids_are_unique_and_time_ordered() -> None:
    ids = [new_frame_id() for _ in range(1000)]
    assert len(set(ids)) == 1000
    assert all(is_frame_id(i) for i in ids)
    assert not any(is_frame_id(bad) for bad in ("", "ABCDEF12", "short", "../x", "yard-1-0"))
    assert [i[:12] for i in ids] == sorted(i[:12] for i in ids)


async def absent(store: BlobStore, key: str) -> bool:
    try:
        await store.read(key)
    except BlobNotFound:
        return True
    return False


async def test_blob_is_invisible_until_commit_and_abort_leaves_nothing(
    settings: ArchiveSettings,
) -> None:
    store = await open_blob_store(settings.blobs)
    try:
        key = blob_key(unique_cam("atomic"), new_frame_id(), time.time())
        writer = await store.open_writer(key)
        await writer.write(b"x" * 300_000)  # past the file store's flush threshold
        assert await absent(store, key)
        await writer.abort()
        await writer.abort()
        assert await absent(store, key)
        writer = await store.open_writer(key)
        await writer.write(b"abc")
        blob = await writer.commit()
        assert (blob.size, blob.sha256) == (3, hashlib.sha256(b"abc").hexdigest())
        assert await store.read(key) == b"abc"
        await store.delete(key)
        await store.delete(key)  # deleting twice is fine: deletes race between nodes
        assert await absent(store, key)
    finally:
        await store.close()
    if settings.blobs.startswith("file://"):
        assert not list((settings.data_dir / "blobs" / ".tmp").iterdir())


async def test_large_blob_streams_in_parts(settings: ArchiveSettings) -> None:
    """Bigger than one S3 part (8 MiB): a multipart upload; read back in chunks."""
    store = await open_blob_store(settings.blobs)
    try:
        key = blob_key(unique_cam("big"), new_frame_id(), time.time())
        writer = await store.open_writer(key)
        chunk = os.urandom(1024 * 1024)
        for _ in range(9):
            await writer.write(chunk)
        blob = await writer.commit()
        assert blob.size == 9 * len(chunk)
        digest, size = hashlib.sha256(), 0
        async for piece in store.stream(key, chunk_size=1 << 20):
            assert len(piece) <= 1 << 20
            digest.update(piece)
            size += len(piece)
        assert (size, digest.hexdigest()) == (blob.size, blob.sha256)
        await store.delete(key)
    finally:
        await store.close()


async def test_aborted_large_blob_leaves_nothing(settings: ArchiveSettings) -> None:
    """Past one S3 part the upload is multipart and already under way: abort must still leave
    no object (S3 shows one only when its upload is completed) and no warning."""
    store = await open_blob_store(settings.blobs)
    try:
        key = blob_key(unique_cam("bigabort"), new_frame_id(), time.time())
        writer = await store.open_writer(key)
        chunk = os.urandom(1024 * 1024)
        for _ in range(9):
            await writer.write(chunk)
        await writer.abort()
        gc.collect()  # the dropped multipart writer must not complete the upload either
        assert await absent(store, key)
    finally:
        await store.close()


def test_stale_temp_files_are_removed_on_open(tmp_path: Path) -> None:
    temps = tmp_path / "blobs" / ".tmp"
    temps.mkdir(parents=True)
    stale, fresh = temps / "old.part", temps / "new.part"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"in progress elsewhere")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    asyncio.run(open_blob_store((tmp_path / "blobs").as_uri()))
    assert not stale.exists() and fresh.exists()


async def test_index_insert_is_idempotent_per_cam_and_key(settings: ArchiveSettings) -> None:
    index = await open_frame_index(settings.index)
    try:

        def record(cam: str, key: str | None) -> FrameRecord:
            fid = new_frame_id()
            return FrameRecord(fid, cam, 1.0, None, None, 1, "s", blob_key(cam, fid, 1.0), 1.0, key)

        first, created = await index.insert_frame(record("a", "k"))
        assert created
        again, created = await index.insert_frame(record("a", "k"))
        assert (again.id, created) == (first.id, False)
        assert (await index.insert_frame(record("b", "k")))[1]
        assert (await index.insert_frame(record("a", None)))[1]
        assert (await index.insert_frame(record("a", None)))[1]
        assert await index.get_by_idempotency_key("a", "k") == first
        assert await index.delete_frame(first.id) == first
        assert await index.delete_frame(first.id) is None
    finally:
        await index.close()


async def test_tokens_are_stored_by_hash_and_revocable(settings: ArchiveSettings) -> None:
    index = await open_frame_index(settings.index)
    try:
        token = TokenRecord("t1", "h" * 64, "yard", "upload", 5.0)
        await index.add_token(token)
        assert await index.token_by_hash("h" * 64) == token
        assert await index.list_tokens() == [token]
        assert await index.revoke_token("t1")
        assert not await index.revoke_token("nope")
        assert (await index.token_by_hash("h" * 64)).revoked  # type: ignore[union-attr]
    finally:
        await index.close()


async def test_counts_per_hour(settings: ArchiveSettings) -> None:
    cam = unique_cam("hours")
    async with Archive(settings) as archive:
        for ts in (3600 * 10 + 5, 3600 * 10 + 3599, 3600 * 12, 3600 * 13 - 1):
            await store_frame(archive, cam, float(ts), make_jpeg())
        counts = await archive.index.counts_per_hour(cam, 3600 * 10, 3600 * 13 - 1)
        # Hours count from ``since``: from a +05:30 zone's midnight, its own hours.
        half = await archive.index.counts_per_hour(cam, 3600 * 9.5, 3600 * 13 - 1)
    assert counts == [(36000.0, 2), (43200.0, 1)]
    assert half == [(34200.0, 1), (37800.0, 1), (41400.0, 1)]


async def test_missing_bucket_is_created(request, tmp_path: Path) -> None:
    endpoint = request.getfixturevalue("s3_endpoint")
    store = await open_blob_store(f"s3://fresh-{os.getpid()}?endpoint={endpoint}")
    try:
        await store.check()
    finally:
        await store.close()


async def test_unreachable_s3_says_what_to_check_and_hides_the_keys() -> None:
    url = "s3://frames?endpoint=http://127.0.0.1:1&access_key=AKIDSHOWN&secret_key=SECRETHIDDEN"
    with pytest.raises(StorageError) as caught:
        await open_blob_store(url)
    message = str(caught.value)
    assert "check the endpoint, bucket and keys of the blobs URL" in message
    assert "SECRETHIDDEN" not in message and "Debug source" not in message


@pytest.mark.parametrize("stack", ["file+sqlite"], indirect=True)  # the S3 server is shared
def test_broken_storage_is_503_not_500(node: Node) -> None:
    blobs = node.settings.data_dir / "blobs"
    shutil.rmtree(blobs)
    blobs.write_text("not a directory any more")
    ready = requests.get(f"{node.url}/readyz")
    assert ready.status_code == 503
    assert "not ready" in ready.json()["error"]
    r = requests.post(
        f"{node.url}/frames", files={"image": make_jpeg()}, auth=requests.BearerAuth(node.upload)
    )
    assert r.status_code == 503
    assert r.headers["Retry-After"]
    assert requests.get(f"{node.url}/frames", auth=requests.BearerAuth(node.read)).json() == {
        "frames": [],
        "next_cursor": None,
        "next": None,
    }


async def test_blob_keys_helper_sees_committed_blobs(settings: ArchiveSettings) -> None:
    cam = unique_cam("keys")
    async with Archive(settings) as archive:
        record = await store_frame(archive, cam, time.time(), make_jpeg())
    assert await blob_keys(settings, cam) == [record.blob_key]
