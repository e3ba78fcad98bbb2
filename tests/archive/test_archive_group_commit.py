"""Group commit on the embedded stack: many calls share one transaction / one sync, and a
failing call never takes its neighbours' work with it (nor reports work that was undone)."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from yardcam.archive.storage import StorageError, TokenRecord, blob_key, new_frame_id
from yardcam.archive.storage._batch import BatchRunner
from yardcam.archive.storage._file import FileBlobStore
from yardcam.archive.storage._sqlite import SQLiteIndex


def _token(token_id: str) -> TokenRecord:
    return TokenRecord(token_id, f"hash-{token_id}", "yard", "upload", time.time())


async def test_a_failing_call_undoes_only_its_own_writes(tmp_path: Path) -> None:
    index = SQLiteIndex(tmp_path / "index.db")
    await index.list_tokens()  # open the connection, so the calls below share one batch

    def write_then_fail(conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT INTO tokens (id, token_hash, scope, created) VALUES ('x', 'x', 'read', 0)"
        )
        raise sqlite3.IntegrityError("refused after writing")

    try:
        results = await asyncio.gather(
            index.add_token(_token("a")),
            index._run(write_then_fail),
            index.add_token(_token("b")),
            return_exceptions=True,
        )
        assert results[0] is None and results[2] is None
        assert isinstance(results[1], StorageError)
        assert [t.id for t in await index.list_tokens()] == ["a", "b"]
    finally:
        await index.close()


async def test_concurrent_inserts_are_committed_together_and_survive_reopening(
    tmp_path: Path,
) -> None:
    index = SQLiteIndex(tmp_path / "index.db")
    await asyncio.gather(*(index.add_token(_token(f"t{n:02}")) for n in range(40)))
    await index.close()
    reopened = SQLiteIndex(tmp_path / "index.db")
    try:
        assert len(await reopened.list_tokens()) == 40
    finally:
        await reopened.close()


async def test_a_failing_start_fails_every_call_and_runs_none() -> None:
    ran: list[int] = []
    broken = True

    def start() -> None:
        if broken:
            raise OSError("disk gone")

    runner = BatchRunner("test-start", start=start)
    try:
        results = await asyncio.gather(
            *(runner.run(lambda n=n: ran.append(n)) for n in range(3)), return_exceptions=True
        )
        assert all(isinstance(r, OSError) for r in results) and ran == []
        broken = False
        await runner.run(lambda: ran.append(9))
        assert ran == [9]
    finally:
        runner.close()


async def test_calls_queued_during_a_batch_form_the_next_batch() -> None:
    batches: list[int] = []
    release = threading.Event()

    def finish(values: list[object]) -> None:
        batches.append(len(values))

    runner = BatchRunner("test-batches", finish=finish)
    try:
        first = asyncio.ensure_future(runner.run(lambda: release.wait(10)))
        await asyncio.sleep(0.05)  # the first batch (one call) is now running
        rest = [asyncio.ensure_future(runner.run(lambda: None)) for _ in range(5)]
        release.set()
        await asyncio.gather(first, *rest)
        assert batches == [1, 5]
    finally:
        runner.close()


async def test_a_day_directory_removed_underneath_is_made_again(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "blobs")
    try:
        now = time.time()
        for _ in range(2):
            key = blob_key("yard", new_frame_id(), now)
            writer = await store.open_writer(key)
            await writer.write(b"\xff\xd8 frame \xff\xd9")
            await writer.commit()
            assert await store.read(key) == b"\xff\xd8 frame \xff\xd9"
            shutil.rmtree(tmp_path / "blobs" / "yard")  # e.g. an operator clearing a cam
    finally:
        await store.close()


@pytest.mark.parametrize("chunk_size", [1, 7, 4096])
async def test_many_small_chunks_are_written_whole(tmp_path: Path, chunk_size: int) -> None:
    store = FileBlobStore(tmp_path / "blobs")
    data = bytes(range(256)) * 1200  # 300 KB: past the flush threshold, in up to 300k pieces
    try:
        key = blob_key("yard", new_frame_id(), time.time())
        writer = await store.open_writer(key)
        for at in range(0, len(data), chunk_size):
            await writer.write(data[at : at + chunk_size])
        blob = await writer.commit()
        assert blob.size == len(data)
        assert await store.read(key) == data
    finally:
        await store.close()
