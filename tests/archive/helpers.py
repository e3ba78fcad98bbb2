"""Helpers for the archive tests (imported as ``archive.helpers``)."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import obstore
import psycopg
import pytest
import simplejpeg

from serving import Running
from web.websupport import PASSWORD, form_token
from yardcam.archive import Archive, ArchiveSettings, create_token, issue_token
from yardcam.archive.storage import (
    FrameRecord,
    blob_key,
    new_frame_id,
    open_blob_store,
    open_frame_index,
)

STACKS = ["file+sqlite", "s3+postgres"]
HTML = {"accept": "text/html"}
MULTIPART_BOUNDARY = "yardcam-test-boundary"
MULTIPART_TYPE = f"multipart/form-data; boundary={MULTIPART_BOUNDARY}"


def raw_multipart(
    fields: dict[str, str], jpeg: bytes, after: dict[str, str] | None = None
) -> bytes:
    """An upload body in the archive's wire format, built by hand: text ``fields`` first, then
    the ``image`` part, then the fields in ``after`` (for raw sockets and load generators that
    use no client library, and for clients that send the image first)."""

    def text_parts(values: dict[str, str]) -> str:
        return "".join(
            f'--{MULTIPART_BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
            for k, v in values.items()
        )

    head = text_parts(fields) + (
        f"--{MULTIPART_BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="image"; filename="f.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    )
    tail = f"\r\n{text_parts(after or {})}--{MULTIPART_BOUNDARY}--\r\n"
    return head.encode() + jpeg + tail.encode()


def raw_upload_head(
    token: str, length: int, *, key: str | None = None, host: str = "archive", path: str = "/frames"
) -> bytes:
    """The head of a POST of a :func:`raw_multipart` body of ``length`` bytes, sent by hand
    (uploads cut off mid-body, load generators); ``key`` is the Idempotency-Key."""
    idempotency = "" if key is None else f"Idempotency-Key: {key}\r\n"
    return (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: {MULTIPART_TYPE}\r\n{idempotency}Content-Length: {length}\r\n\r\n"
    ).encode()


def storage_args(settings: ArchiveSettings) -> list[str]:
    """The command-line options that point ``yardcam archive`` at ``settings``' storage."""
    return [
        "--data-dir",
        str(settings.data_dir),
        "--blobs",
        settings.blobs,
        "--index",
        settings.index,
    ]


def fresh_database(server_url: str) -> str:
    """A new empty database on the session's PostgreSQL, so tests never see each other's rows."""
    name = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return server_url.rsplit("/", 1)[0] + f"/{name}"


def make_settings(stack: str, data_dir: Path, request: pytest.FixtureRequest, **overrides: object):
    """Settings for one isolated archive on ``stack`` (a fresh bucket and database if scaled)."""
    # No background purge or orphan sweep: the scaled stack's bucket is shared by the session,
    # and a sweep on one test's index would take every other test's blobs for orphans.
    defaults: dict[str, object] = {
        "purge_interval": 0,
        "orphan_sweep_interval": 0,
        "secure_cookies": False,
    }
    defaults.update(overrides)
    if stack == "file+sqlite":
        return ArchiveSettings.for_data_dir(data_dir, **defaults)
    pg = request.getfixturevalue("postgres_url")
    s3 = request.getfixturevalue("s3_endpoint")
    # One bucket per session: SeaweedFS backs each bucket with its own volumes, so a bucket per
    # test would exhaust the server. Tests stay isolated by their fresh index and unique ids.
    bucket = request.getfixturevalue("s3_bucket")
    return ArchiveSettings.for_data_dir(
        data_dir, blobs=f"s3://{bucket}?endpoint={s3}", index=fresh_database(pg), **defaults
    )


def new_token(settings: ArchiveSettings, cam: str | None, scope: str = "upload") -> str:
    return asyncio.run(create_token(settings, cam, scope))


def new_tokens(settings: ArchiveSettings, *wanted: tuple[str | None, str]) -> list[str]:
    """Several tokens through one index connection (opening one costs a pool on PostgreSQL)."""

    async def issue() -> list[str]:
        index = await open_frame_index(settings.index)
        try:
            return [(await issue_token(index, cam, scope))[0] for cam, scope in wanted]
        finally:
            await index.close()

    return asyncio.run(issue())


@dataclass
class Node:
    """A running archive node plus what tests need to talk to it."""

    running: Running
    settings: ArchiveSettings
    upload: str  # upload token for cam "yard"
    read: str  # read token for all cams
    admin: str

    @property
    def url(self) -> str:
        return self.running.url

    def token(self, cam: str | None, scope: str = "upload") -> str:
        return new_token(self.settings, cam, scope)


def make_jpeg(width: int = 64, height: int = 48, seed: int = 0, noise: bool = False) -> bytes:
    rng = np.random.default_rng(seed)
    if noise:
        image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    else:
        image = np.full((height, width, 3), rng.integers(0, 256, 3), dtype=np.uint8)
    return simplejpeg.encode_jpeg(image, quality=90)


async def blob_keys(settings: ArchiveSettings, cam: str) -> list[str]:
    """Every committed blob of ``cam``, read straight from the blob store (not the index)."""
    if settings.blobs.startswith("file://"):
        root = settings.data_dir / "blobs"
        return sorted(str(p.relative_to(root)) for p in (root / cam).rglob("*.jpg"))
    store = await open_blob_store(settings.blobs)
    try:
        pages = obstore.list(store.client, f"{cam}/")  # type: ignore[attr-defined]
        return sorted([obj["path"] async for page in pages for obj in page])
    finally:
        await store.close()


def stored_keys(settings: ArchiveSettings, cam: str) -> list[str]:
    """:func:`blob_keys` for sync tests."""
    return asyncio.run(blob_keys(settings, cam))


def unique_cam(prefix: str) -> str:
    """A cam name no other test uses (the S3 bucket is shared by the whole session)."""
    return f"{prefix}-{secrets.token_hex(4)}"


async def store_frame(archive: Archive, cam: str, ts: float, body: bytes) -> FrameRecord:
    """Put a frame straight into storage (blob first, then index row), as ingest does."""
    frame_id = new_frame_id()
    writer = await archive.blobs.open_writer(blob_key(cam, frame_id, ts))
    await writer.write(body)
    blob = await writer.commit()
    record = FrameRecord(frame_id, cam, ts, None, None, blob.size, blob.sha256, blob.key, ts, None)
    stored, created = await archive.index.insert_frame(record)
    assert created
    return stored


def login(client: httpx.Client, password: str = PASSWORD) -> None:
    """Log ``client`` in to a node's gallery as ``owner`` (made with ``create_user``)."""
    token = form_token(client.get("/login").text)
    data = {"username": "owner", "password": password, "csrf_token": token, "next": ""}
    response = client.post("/login", data=data)
    assert response.status_code == 303, response.text


def in_gallery(client: httpx.Client) -> bool:
    """Does this client's cookie still open the gallery (or is it sent to the login page)?"""
    response = client.get("/gallery/", headers=HTML)
    assert response.status_code in (200, 303), response.text
    return response.status_code == 200
