"""``s3://bucket?endpoint=URL`` blobs on any S3-compatible store (AWS, SeaweedFS, MinIO...).

The client is obstore (Rust ``object_store`` behind an asyncio API): a PUT costs ~0.7 ms of CPU,
built and signed in Rust off the event loop, where aiobotocore's took ~3.7-3.9 ms of Python on
it and held a scaled node at ~0.65x its store's PUT rate (``benchmarks/README.md``).

A blob up to one part (8 MiB) is held in a bounded buffer and sent with one PUT; a larger one
goes as a multipart upload through obstore's buffered writer, part by part, so memory stays at
a few parts per upload. S3 makes an object visible only when its PUT (or the completion of its
multipart upload) succeeds, so a killed node never leaves a half object; an abandoned multipart
upload is never completed, invisible to readers, and expires by bucket policy.

Credentials come from ``access_key``/``secret_key`` in the URL query or the usual ``AWS_*``
environment variables. They never reach an error message: obstore's errors name the request's
method and URL, never its signature or keys, and only their first paragraph is kept.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import obstore
from obstore.exceptions import BaseError
from obstore.store import S3Store

from yardcam import requests

from ._keys import check_key, is_key
from ._types import BlobNotFound, StorageError, StoredBlob

if TYPE_CHECKING:
    from obstore import AsyncWritableFile

PART_SIZE = 8 * 1024 * 1024
# obstore raises its own errors and the builtin OSError family (FileNotFoundError, timeouts).
_S3_ERRORS = (BaseError, OSError)
_RETRY_WITHIN = timedelta(seconds=30)


def _reason(exc: BaseException) -> str:
    """The first paragraph of the client's message: obstore appends a multi-line ``Debug
    source`` dump; the status code, the store's error code and message, the method and URL
    before it are what an operator can act on."""
    return str(exc).split("\n\nDebug source", 1)[0].strip() or type(exc).__name__


def _failed(what: str, exc: BaseException) -> StorageError:
    return StorageError(f"s3 {what} failed: {_reason(exc)}")


class S3BlobWriter:
    def __init__(self, store: S3BlobStore, key: str) -> None:
        self._store = store
        self._key = key
        self._buffer = bytearray()
        self._hash = hashlib.sha256()
        self._size = 0
        self._multipart: AsyncWritableFile | None = None
        self._done = False

    async def write(self, data: bytes) -> None:
        if self._done:
            raise StorageError("blob writer already finished")
        self._hash.update(data)
        self._size += len(data)
        try:
            if self._multipart is not None:
                await self._multipart.write(data)
                return
            self._buffer += data
            if len(self._buffer) >= PART_SIZE:
                # Past one part: stream the rest as a multipart upload (parts of PART_SIZE,
                # at most two in flight), completed only by commit().
                self._multipart = obstore.open_writer_async(
                    self._store.client,
                    self._key,
                    attributes={"Content-Type": "image/jpeg"},
                    buffer_size=PART_SIZE,
                    max_concurrency=2,
                )
                await self._multipart.write(bytes(self._buffer))
                self._buffer = bytearray()
        except _S3_ERRORS as exc:
            raise _failed("upload", exc) from exc

    async def commit(self) -> StoredBlob:
        if self._done:
            raise StorageError("blob writer already finished")
        self._done = True
        digest = self._hash.hexdigest()
        try:
            if self._multipart is None:
                await obstore.put_async(
                    self._store.client,
                    self._key,
                    bytes(self._buffer),
                    attributes={"Content-Type": "image/jpeg", "sha256": digest},
                    use_multipart=False,
                )
            else:
                # Sends the last part and completes the upload: the object appears only now.
                await self._multipart.close()
        except _S3_ERRORS as exc:
            raise _failed("upload", exc) from exc
        finally:
            self._buffer = bytearray()
            self._multipart = None
        return StoredBlob(self._key, self._size, digest)

    async def abort(self) -> None:
        # A multipart upload left uncompleted is invisible to readers (and expires by bucket
        # policy); obstore's buffered writer offers no abort call to send.
        self._done = True
        self._buffer = bytearray()
        self._multipart = None


class S3BlobStore:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if not parts.netloc:
            raise ValueError("s3 URL needs a bucket: s3://bucket?endpoint=http://host:port")
        self.url = url
        self.bucket = parts.netloc
        endpoint = query.get("endpoint")
        self._region = query.get("region", os.environ.get("AWS_REGION", "us-east-1"))
        self.client = S3Store(
            self.bucket,
            endpoint=endpoint,
            region=self._region,
            access_key_id=query.get("access_key", os.environ.get("AWS_ACCESS_KEY_ID", "yardcam")),
            secret_access_key=query.get(
                "secret_key", os.environ.get("AWS_SECRET_ACCESS_KEY", "yardcam")
            ),
            client_options={
                "allow_http": bool(endpoint and endpoint.startswith("http://")),
                "connect_timeout": timedelta(seconds=5),
                "timeout": timedelta(seconds=30),
            },
            # A failing store answers within the retry window instead of obstore's 3 minutes:
            # the node turns the StorageError into a 503 and the cam retries the frame later.
            retry_config={
                "max_retries": 2,
                "backoff": {
                    "init_backoff": timedelta(milliseconds=100),
                    "max_backoff": _RETRY_WITHIN,
                },
                "retry_timeout": _RETRY_WITHIN,
            },
        )

    async def open(self) -> None:
        if not await self._bucket_exists():
            await self._create_bucket()

    async def _create_bucket(self) -> None:
        """CreateBucket, which obstore lacks: a presigned PUT of the bucket sent by yardcam's
        own HTTP client. A 409 means another node created it between our check and this."""
        signed = await obstore.sign_async(self.client, "PUT", "", timedelta(minutes=1))
        body = b""
        if self._region != "us-east-1":  # the one region where S3 refuses a constraint
            body = (
                b"<CreateBucketConfiguration><LocationConstraint>"
                + self._region.encode()
                + b"</LocationConstraint></CreateBucketConfiguration>"
            )
        try:
            async with requests.AsyncSession() as http:
                answer = await http.put(signed, data=body)
        except OSError as exc:
            # Not the exception's text: it would quote the presigned URL.
            raise StorageError(
                f"s3 bucket {self.bucket!r} could not be created ({type(exc).__name__}): "
                "check the endpoint of the blobs URL and that the store is up"
            ) from exc
        if answer.status_code != 200 and answer.status_code != 409:
            code = re.search(r"<Code>([^<]*)</Code>", answer.text)
            raise StorageError(
                f"s3 bucket {self.bucket!r} could not be created: HTTP {answer.status_code} "
                f"{code.group(1) if code else ''}: create it yourself, or give the blobs URL keys "
                "that may create buckets"
            )

    async def open_writer(self, key: str) -> S3BlobWriter:
        check_key(key)
        return S3BlobWriter(self, key)

    async def read(self, key: str) -> bytes:
        check_key(key)
        try:
            result = await obstore.get_async(self.client, key)
            return bytes(await result.bytes_async())
        except FileNotFoundError as exc:
            raise BlobNotFound(key) from exc
        except _S3_ERRORS as exc:
            raise _failed("read", exc) from exc

    async def stream(self, key: str, chunk_size: int = 65536) -> AsyncIterator[bytes]:
        check_key(key)
        try:
            result = await obstore.get_async(self.client, key)
        except FileNotFoundError as exc:
            raise BlobNotFound(key) from exc
        except _S3_ERRORS as exc:
            raise _failed("read", exc) from exc
        pieces = aiter(result.stream(min_chunk_size=chunk_size))
        while True:
            try:
                piece = await anext(pieces)
            except StopAsyncIteration:
                return
            except _S3_ERRORS as exc:
                raise _failed("read", exc) from exc
            # obstore's chunks are at least chunk_size; callers were promised at most.
            for start in range(0, len(piece), chunk_size):
                yield piece[start : start + chunk_size]

    async def delete(self, key: str) -> None:
        check_key(key)
        try:
            await obstore.delete_async(self.client, key)  # S3 answers 204 for a missing key too
        except FileNotFoundError:
            return
        except _S3_ERRORS as exc:
            raise _failed("delete", exc) from exc

    async def list_keys(self, *, older_than: float) -> AsyncIterator[list[str]]:
        """One batch per listing page (up to 1,000 objects)."""
        pages = aiter(obstore.list(self.client, chunk_size=1000))
        while True:
            try:
                page = await anext(pages)
            except StopAsyncIteration:
                return
            except _S3_ERRORS as exc:
                raise _failed("listing", exc) from exc
            keys = [
                obj["path"]
                for obj in page
                if obj["last_modified"].timestamp() < older_than and is_key(obj["path"])
            ]
            if keys:
                yield keys

    async def check(self) -> None:
        if not await self._bucket_exists():
            raise StorageError(
                f"s3 bucket {self.bucket!r} does not exist: create it, or restart the node to "
                "have it created"
            )

    async def _bucket_exists(self) -> bool:
        """One ListObjectsV2 request for a prefix no key has (obstore has no HeadBucket)."""
        try:
            await obstore.list_with_delimiter_async(self.client, "yardcam-check/")
        except _S3_ERRORS as exc:
            if "NoSuchBucket" in str(exc):
                return False
            raise StorageError(
                f"s3 bucket {self.bucket!r} unavailable: {_reason(exc)}: check the endpoint, "
                "bucket and keys of the blobs URL and that the store is up"
            ) from exc
        return True

    async def close(self) -> None:
        """Nothing to release: obstore's connection pool goes with the store object."""
