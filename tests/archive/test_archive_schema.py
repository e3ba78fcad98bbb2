"""The index schema's versions on both stacks: an archive made before versioning is upgraded
with its frames intact, migrations run once and in order, a newer schema is refused."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import psycopg
import pytest

from archive.helpers import Node, in_gallery, login, make_jpeg, unique_cam
from web.websupport import PASSWORD
from yardcam import requests
from yardcam.archive import ArchiveSettings, create_user
from yardcam.archive.storage import (
    StorageError,
    blob_key,
    new_frame_id,
    open_blob_store,
    open_frame_index,
)
from yardcam.archive.storage._migrations import MIGRATIONS, Migration, SchemaTooNew, upgrade
from yardcam.archive.storage._postgres import PostgresIndex
from yardcam.archive.storage._sql import POSTGRES, SQLITE
from yardcam.archive.storage._sqlindex import SqlIndex
from yardcam.archive.storage._sqlite import SQLiteIndex

# The schema exactly as yardcam created it before versioning (no schema_version table).
PREVIOUS_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS frames (
        id TEXT PRIMARY KEY,
        cam TEXT NOT NULL,
        ts DOUBLE PRECISION NOT NULL,
        seq BIGINT,
        change DOUBLE PRECISION,
        size BIGINT NOT NULL,
        sha256 TEXT NOT NULL,
        blob_key TEXT NOT NULL,
        received DOUBLE PRECISION NOT NULL,
        idempotency_key TEXT,
        UNIQUE (cam, idempotency_key)
    )""",
    "CREATE INDEX IF NOT EXISTS frames_cam_ts ON frames (cam, ts, id)",
    "CREATE INDEX IF NOT EXISTS frames_ts ON frames (ts, id)",
    """CREATE TABLE IF NOT EXISTS tokens (
        id TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        cam TEXT,
        scope TEXT NOT NULL,
        created DOUBLE PRECISION NOT NULL,
        revoked BOOLEAN NOT NULL DEFAULT FALSE
    )""",
)
LATEST = MIGRATIONS[-1].version
# A later migration as a test would write it: one shared statement and one per engine.
NOTE_COLUMN = Migration(
    LATEST + 1,
    "a note on each frame",
    ("ALTER TABLE frames ADD COLUMN note TEXT",),
)
NOTE_FILLED = Migration(
    LATEST + 2,
    "notes default to the cam",
    sqlite=("UPDATE frames SET note = 'cam ' || cam",),
    postgres=("UPDATE frames SET note = CONCAT('cam ', cam)",),
)


def sql_on(index_url: str, *statements: tuple[str, tuple[Any, ...]]) -> list[Any]:
    """Run ``statements`` (``{p}`` placeholders) straight on the index, as an old yardcam or an
    operator would; the rows of the last one."""
    rows: list[Any] = []
    if index_url.startswith("sqlite:"):
        conn = sqlite3.connect(unquote(urlsplit(index_url).path), isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            for sql, params in statements:
                rows = conn.execute(sql.format(p="?"), params).fetchall()
        finally:
            conn.close()
        return rows
    with psycopg.connect(index_url, autocommit=True) as pg:
        for sql, params in statements:
            cur = pg.execute(sql.format(p="%s"), params)  # type: ignore[arg-type]
            rows = cur.fetchall() if cur.description else []
    return rows


def schema_version(settings: ArchiveSettings) -> int:
    ((version,),) = sql_on(settings.index, ("SELECT version FROM schema_version", ()))
    return int(version)


def has_version_table(settings: ArchiveSettings) -> bool:
    query = (
        "SELECT 1 FROM information_schema.tables WHERE table_name = 'schema_version'"
        if settings.index.startswith("postgres")
        else "SELECT 1 FROM sqlite_master WHERE name = 'schema_version'"
    )
    return bool(sql_on(settings.index, (query, ())))


async def previous_archive(settings: ArchiveSettings, cam: str, count: int) -> dict[str, bytes]:
    """An archive as the previous yardcam left it: old DDL, blobs stored, rows inserted by hand.
    Returns each frame's id -> JPEG."""
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    frames: dict[str, bytes] = {}
    rows: list[tuple[str, tuple[Any, ...]]] = []
    store = await open_blob_store(settings.blobs)
    try:
        for i in range(count):
            body, frame_id, ts = make_jpeg(seed=i), new_frame_id(), 1000.0 + i
            writer = await store.open_writer(blob_key(cam, frame_id, ts))
            await writer.write(body)
            blob = await writer.commit()
            frames[frame_id] = body
            rows.append(
                (
                    "INSERT INTO frames (id, cam, ts, seq, change, size, sha256, blob_key,"
                    " received, idempotency_key) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p},"
                    " {p}, {p})",
                    (frame_id, cam, ts, i, 0.5, blob.size, blob.sha256, blob.key, ts, f"k{i}"),
                )
            )
    finally:
        await store.close()
    sql_on(settings.index, *((s, ()) for s in PREVIOUS_SCHEMA), *rows)
    return frames


def test_an_archive_of_the_previous_schema_is_upgraded_with_its_frames_intact(
    settings: ArchiveSettings, start_node: Callable[[ArchiveSettings], Node]
) -> None:
    cam = unique_cam("old")
    frames = asyncio.run(previous_archive(settings, cam, 3))
    assert not has_version_table(settings)  # really the old schema

    create_user(settings, "owner", PASSWORD)
    node = start_node(settings)  # opening the index upgrades it

    assert schema_version(settings) == LATEST
    with httpx.Client(base_url=node.url) as browser:  # the gallery's sessions table is there
        login(browser)
        assert in_gallery(browser)
    auth = requests.BearerAuth(node.read)
    listed = requests.get(f"{node.url}/frames?cam={cam}&order=asc", auth=auth).json()
    assert sorted(f["id"] for f in listed["frames"]) == sorted(frames)
    for frame_id, body in frames.items():
        r = requests.get(f"{node.url}/frames/{frame_id}", auth=auth)
        assert r.status_code == 200
        assert r.content == body
        assert r.headers["ETag"] == f'"{hashlib.sha256(body).hexdigest()}"'
    # The old rows keep their idempotency keys: a retried upload is still recognised.
    retry = requests.post(
        f"{node.url}/frames",
        data={"cam": cam, "ts": "1000"},
        files={"image": ("f.jpg", frames[next(iter(frames))])},
        headers={"Idempotency-Key": "k0"},
        auth=requests.BearerAuth(node.admin),
    )
    assert retry.status_code == 200, retry.text
    assert retry.json()["id"] == next(iter(frames))


async def open_with(url: str, migrations: tuple[Migration, ...]) -> SqlIndex:
    """An index opened with another list of migrations than the shipped one."""
    index: SQLiteIndex | PostgresIndex
    if url.startswith("sqlite:"):
        index = SQLiteIndex(Path(unquote(urlsplit(url).path)))
    else:
        index = PostgresIndex(url)
    index.migrations = migrations
    try:
        await index.open()
    except BaseException:
        await index.close()
        raise
    return index


async def test_later_migrations_run_in_order_on_a_previous_archive(
    settings: ArchiveSettings,
) -> None:
    cam = unique_cam("notes")
    frames = await previous_archive(settings, cam, 2)
    index = await open_with(settings.index, (*MIGRATIONS, NOTE_COLUMN, NOTE_FILLED))
    try:
        page = await index.list_frames(cam=cam)
        assert sorted(f.id for f in page.frames) == sorted(frames)
    finally:
        await index.close()
    assert schema_version(settings) == LATEST + 2
    notes = sql_on(settings.index, ("SELECT DISTINCT note FROM frames WHERE cam = {p}", (cam,)))
    assert notes == [(f"cam {cam}",)]
    # Opening again with the same list changes nothing (a second ALTER would fail).
    await (await open_with(settings.index, (*MIGRATIONS, NOTE_COLUMN, NOTE_FILLED))).close()
    assert schema_version(settings) == LATEST + 2


async def test_a_newer_schema_is_refused_with_what_to_do(settings: ArchiveSettings) -> None:
    await (await open_frame_index(settings.index)).close()
    sql_on(settings.index, ("UPDATE schema_version SET version = {p}", (LATEST + 1,)))
    with pytest.raises(SchemaTooNew) as refused:
        await open_frame_index(settings.index)
    message = str(refused.value)
    assert f"schema version {LATEST + 1}" in message
    assert f"up to version {LATEST}" in message
    assert "Upgrade yardcam" in message
    assert schema_version(settings) == LATEST + 1  # left as it was


async def test_nodes_starting_at_once_migrate_once(settings: ArchiveSettings) -> None:
    """Four indexes (four connections, on four threads for SQLite) open one fresh index at once:
    without the lock, a second ALTER TABLE would fail (the column exists)."""
    migrations = (*MIGRATIONS, NOTE_COLUMN, NOTE_FILLED)
    indexes = await asyncio.gather(*(open_with(settings.index, migrations) for _ in range(4)))
    for index in indexes:
        await index.check()
        await index.close()
    assert schema_version(settings) == LATEST + 2


async def test_a_failed_migration_leaves_the_index_as_it_was(settings: ArchiveSettings) -> None:
    cam = unique_cam("failed")
    frames = await previous_archive(settings, cam, 1)
    broken = Migration(
        LATEST + 1, "half works", ("ALTER TABLE frames ADD COLUMN note TEXT", "NOPE")
    )
    with pytest.raises(StorageError):
        await open_with(settings.index, (*MIGRATIONS, broken))
    # Not even the first migration is kept: all of them run in one transaction.
    assert not has_version_table(settings)
    index = await open_with(settings.index, (*MIGRATIONS, NOTE_COLUMN))  # the fixed release
    try:
        assert [f.id for f in (await index.list_frames(cam=cam)).frames] == list(frames)
    finally:
        await index.close()
    assert schema_version(settings) == LATEST + 1


def test_migrations_are_numbered_one_by_one_with_distinct_names() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert len({m.name for m in MIGRATIONS}) == len(MIGRATIONS)


@pytest.mark.parametrize("dialect", [SQLITE, POSTGRES], ids=lambda d: d.name)
def test_upgrade_plans(dialect: Any) -> None:
    later = (*MIGRATIONS, NOTE_COLUMN, NOTE_FILLED)
    p = dialect.placeholder

    def plan(rows: Sequence[tuple[int]]) -> list[tuple[str, tuple[Any, ...]]]:
        return upgrade(dialect, rows, later)

    from_scratch = plan([])
    assert len(from_scratch) == sum(len(m.statements(dialect)) for m in later) + 1
    assert from_scratch[-1] == (f"INSERT INTO schema_version (version) VALUES ({p})", (LATEST + 2,))
    assert plan([(LATEST,)]) == [
        ("ALTER TABLE frames ADD COLUMN note TEXT", ()),
        (NOTE_FILLED.statements(dialect)[0], ()),
        (f"UPDATE schema_version SET version = {p}", (LATEST + 2,)),
    ]
    assert plan([(LATEST + 2,)]) == []
    with pytest.raises(SchemaTooNew):
        plan([(LATEST + 3,)])
