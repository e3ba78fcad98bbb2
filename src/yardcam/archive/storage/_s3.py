"""``s3://bucket?endpoint=URL`` blobs on any S3-compatible store (AWS, SeaweedFS, MinIO...).

A blob up to one part (8 MiB) is held in a bounded buffer and sent with one PUT; larger blobs go
as a multipart upload, part by part, so memory never exceeds one part per upload. S3 makes an
object visible only when its PUT (or CompleteMultipartUpload) succeeds, so a killed node never
leaves a half object; an abandoned multipart upload is aborted (or expires by bucket policy).

Credentials come from ``access_key``/``secret_key`` in the URL query or the usual ``AWS_*``
environment variables.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import BotoCoreError, ClientError

from ._keys import check_key, is_key
from ._types import BlobNotFound, StorageError, StoredBlob

PART_SIZE = 8 * 1024 * 1024
_MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3BlobWriter:
    def __init__(self, store: S3BlobStore, key: str) -> None:
        self._store = store
        self._key = key
        self._buffer = bytearray()
        self._hash = hashlib.sha256()
        self._size = 0
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._done = False

    async def write(self, data: bytes) -> None:
        if self._done:
            raise StorageError("blob writer already finished")
        self._hash.update(data)
        self._size += len(data)
        self._buffer += data
        while len(self._buffer) >= PART_SIZE:
            part = bytes(self._buffer[:PART_SIZE])
            del self._buffer[:PART_SIZE]
            await self._upload_part(part)

    async def _upload_part(self, part: bytes) -> None:
        s3, bucket = self._store.client, self._store.bucket
        try:
            if self._upload_id is None:
                created = await s3.create_multipart_upload(Bucket=bucket, Key=self._key)
                self._upload_id = created["UploadId"]
            number = len(self._parts) + 1
            sent = await s3.upload_part(
                Bucket=bucket, Key=self._key, UploadId=self._upload_id, PartNumber=number, Body=part
            )
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"s3 upload failed: {exc}") from exc
        self._parts.append({"PartNumber": number, "ETag": sent["ETag"]})

    async def commit(self) -> StoredBlob:
        if self._done:
            raise StorageError("blob writer already finished")
        self._done = True
        s3, bucket = self._store.client, self._store.bucket
        digest = self._hash.hexdigest()
        try:
            if self._upload_id is None:
                await s3.put_object(
                    Bucket=bucket,
                    Key=self._key,
                    Body=bytes(self._buffer),
                    ContentType="image/jpeg",
                    Metadata={"sha256": digest},
                )
            else:
                if self._buffer:
                    await self._upload_part(bytes(self._buffer))
                await s3.complete_multipart_upload(
                    Bucket=bucket,
                    Key=self._key,
                    UploadId=self._upload_id,
                    MultipartUpload={"Parts": self._parts},
                )
        except (BotoCoreError, ClientError, StorageError) as exc:
            await self._abort_upload()
            raise StorageError(f"s3 upload failed: {exc}") from exc
        finally:
            self._buffer = bytearray()
        return StoredBlob(self._key, self._size, digest)

    async def _abort_upload(self) -> None:
        if self._upload_id is None:
            return
        upload_id, self._upload_id = self._upload_id, None
        # Best effort: an orphaned multipart upload is invisible to readers and expires anyway.
        with contextlib.suppress(BotoCoreError, ClientError):
            await self._store.client.abort_multipart_upload(
                Bucket=self._store.bucket, Key=self._key, UploadId=upload_id
            )

    async def abort(self) -> None:
        self._done = True
        self._buffer = bytearray()
        await self._abort_upload()


class S3BlobStore:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if not parts.netloc:
            raise ValueError("s3 URL needs a bucket: s3://bucket?endpoint=http://host:port")
        self.url = url
        self.bucket = parts.netloc
        self._endpoint = query.get("endpoint")
        self._region = query.get("region", os.environ.get("AWS_REGION", "us-east-1"))
        self._access_key = query.get("access_key", os.environ.get("AWS_ACCESS_KEY_ID", "yardcam"))
        self._secret_key = query.get(
            "secret_key", os.environ.get("AWS_SECRET_ACCESS_KEY", "yardcam")
        )
        self._stack = contextlib.AsyncExitStack()
        self.client: Any = None

    async def open(self) -> None:
        session = get_session()
        config = AioConfig(
            max_pool_connections=64,
            retries={"max_attempts": 3, "mode": "standard"},
            s3={"addressing_style": "path"},
            connect_timeout=5,
            read_timeout=30,
        )
        self.client = await self._stack.enter_async_context(
            session.create_client(
                "s3",
                endpoint_url=self._endpoint,
                region_name=self._region,
                aws_access_key_id=self._access_key,
                aws_secret_access_key=self._secret_key,
                config=config,
            )
        )
        try:
            await self._ensure_bucket()
        except (BotoCoreError, ClientError) as exc:
            await self.close()
            raise StorageError(f"s3 bucket {self.bucket!r} unavailable: {exc}") from exc

    async def _ensure_bucket(self) -> None:
        try:
            await self.client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as exc:
            if _code(exc) not in _MISSING:
                raise
        try:
            await self.client.create_bucket(Bucket=self.bucket)
        except ClientError as exc:
            # Another node created it between our HEAD and CREATE.
            if _code(exc) not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                raise

    async def open_writer(self, key: str) -> S3BlobWriter:
        check_key(key)
        return S3BlobWriter(self, key)

    async def _get(self, key: str) -> Any:
        check_key(key)
        try:
            return await self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise BlobNotFound(key) from exc
            raise StorageError(f"s3 read failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"s3 read failed: {exc}") from exc

    async def read(self, key: str) -> bytes:
        response = await self._get(key)
        try:
            async with response["Body"] as body:
                data: bytes = await body.read()
                return data
        except (BotoCoreError, OSError) as exc:
            raise StorageError(f"s3 read failed: {exc}") from exc

    async def stream(self, key: str, chunk_size: int = 65536) -> AsyncIterator[bytes]:
        response = await self._get(key)
        async with response["Body"] as body:
            async for chunk in body.iter_chunks(chunk_size):
                yield chunk

    async def delete(self, key: str) -> None:
        check_key(key)
        try:
            await self.client.delete_object(Bucket=self.bucket, Key=key)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"s3 delete failed: {exc}") from exc

    async def list_keys(self, *, older_than: float) -> AsyncIterator[list[str]]:
        """One batch per listing page (up to 1,000 objects)."""
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
        try:
            async for page in pages:
                keys = []
                for obj in page.get("Contents", []):
                    if obj["LastModified"].timestamp() < older_than and is_key(obj["Key"]):
                        keys.append(obj["Key"])
                if keys:
                    yield keys
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"s3 listing failed: {exc}") from exc

    async def check(self) -> None:
        try:
            await self.client.head_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"s3 bucket {self.bucket!r} unavailable: {exc}") from exc

    async def close(self) -> None:
        await self._stack.aclose()
        self.client = None
