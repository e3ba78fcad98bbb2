"""The two storage interfaces of the archive (blobs, index) and the records they exchange.

Why two: the JPEG bytes and the searchable metadata scale differently. Blobs go to a directory or
any S3-compatible store; metadata goes to SQLite or PostgreSQL. Several archive nodes may share one
blob store and one index with no other coordination, so every operation here is safe to run
concurrently from several processes: the index's unique constraint on ``(cam, idempotency_key)`` is
the only arbiter of duplicate uploads, and an index row is only ever written after its blob is
durable (nothing half-written is listed).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from ...web import LiveSession


class StorageError(OSError):
    """A storage backend failed (I/O, network, database); the request should be retried later."""


class BlobNotFound(StorageError, KeyError):
    """No blob is stored under the key."""


@dataclass(frozen=True, slots=True)
class StoredBlob:
    """What a committed blob write produced."""

    key: str
    size: int
    sha256: str  # lowercase hex


@dataclass(frozen=True, slots=True)
class FrameRecord:
    """One archived frame: the index row. ``blob_key`` locates the JPEG in the blob store."""

    id: str
    cam: str
    ts: float  # capture time (client clock), seconds since the epoch
    seq: int | None
    change: float | None
    size: int
    sha256: str
    blob_key: str
    received: float  # server clock when the frame was stored
    idempotency_key: str | None = None
    event: str | None = None  # the cam's motion event id (``<start ms>-<first seq>``)


@dataclass(frozen=True, slots=True)
class FramePage:
    """One page of a keyset-paginated listing; ``next_cursor`` is None on the last page."""

    frames: list[FrameRecord]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class EventSummary:
    """One motion event of a cam as its archived frames tell it (there is no events table: the
    frames sharing ``(cam, event)`` are the event). ``start``/``end`` are the capture times of
    its first and last archived frames; ``best`` is the one with the highest change."""

    cam: str
    event: str  # the cam's event id, ``<start ms>-<first seq>`` (``FrameRecord.event``)
    start: float
    end: float
    frames: int
    peak_change: float | None
    best: FrameRecord


@dataclass(frozen=True, slots=True)
class EventPage:
    """One page of a cam's events, newest first; ``next_cursor`` is None on the last page."""

    events: list[EventSummary]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class CamSummary:
    cam: str
    count: int
    bytes: int
    first_ts: float
    last_ts: float


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """An API token as stored: only the sha256 of the secret, never the secret itself.

    ``cam`` is None for tokens valid for every cam (admin, or a read token for all cams).
    """

    id: str
    token_hash: str
    cam: str | None
    scope: str  # "upload" | "read" | "admin"
    created: float
    revoked: bool = False
    expires: float | None = None  # epoch seconds; None: never


class BlobWriter(Protocol):
    """An in-progress blob write. Nothing is visible under the key until :meth:`commit` returns."""

    async def write(self, data: bytes) -> None: ...

    async def commit(self) -> StoredBlob:
        """Make the blob durable and visible; returns its size and sha256."""
        ...

    async def abort(self) -> None:
        """Discard everything written so far; safe to call after a failed write or twice."""
        ...


class BlobStore(Protocol):
    """Where JPEG bytes live. Keys look like ``cam/YYYY/MM/DD/<id>.jpg`` and are server-made."""

    url: str

    async def open_writer(self, key: str) -> BlobWriter: ...

    async def read(self, key: str) -> bytes:
        """The whole blob (frames are small); raises :class:`BlobNotFound`."""
        ...

    def stream(self, key: str, chunk_size: int = 65536) -> AsyncIterator[bytes]:
        """The blob in chunks, for large responses and exports; raises :class:`BlobNotFound`."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the blob; deleting a missing key is not an error (deletes may race)."""
        ...

    def list_keys(self, *, older_than: float) -> AsyncIterator[list[str]]:
        """Batches of the keys of every committed blob last written before ``older_than``
        (epoch seconds), for the orphan sweep; in no particular order."""
        ...

    async def check(self) -> None:
        """Raise :class:`StorageError` unless the store is reachable and writable (``/readyz``)."""
        ...

    async def close(self) -> None: ...


class FrameIndex(Protocol):
    """Searchable frame metadata and API tokens."""

    url: str

    async def insert_frame(self, record: FrameRecord) -> tuple[FrameRecord, bool]:
        """Insert unless ``(cam, idempotency_key)`` exists; returns (stored record, created).

        When not created, the returned record is the one that won, so the caller can delete its
        own blob and reply with the winner's id.
        """
        ...

    async def get_frame(self, frame_id: str) -> FrameRecord | None: ...

    async def get_by_idempotency_key(self, cam: str, key: str) -> FrameRecord | None:
        """The frame an earlier upload with this key stored, so a retry need not resend it."""
        ...

    async def list_frames(
        self,
        *,
        cam: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
        cursor: str | None = None,
        newest_first: bool = True,
    ) -> FramePage:
        """Frames with ``since <= ts < until``, ordered by (ts, id); ``cursor`` from a prior page.

        Raises ``ValueError`` for a malformed cursor.
        """
        ...

    async def list_events(
        self,
        cam: str,
        *,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> EventPage:
        """The cam's events with ``since <= start < until``, newest first, ordered by (start,
        event id); ``cursor`` from a prior page. Frames without an event are in none.

        Raises ``ValueError`` for a malformed cursor.
        """
        ...

    async def get_event(
        self, cam: str, event: str, *, limit: int = 1000
    ) -> tuple[EventSummary, list[FrameRecord]] | None:
        """The event's summary and its first ``limit`` frames (oldest first: a bound on one
        response or page, while the summary counts them all); None if the cam has no frame in
        that event."""
        ...

    async def list_cams(self) -> list[CamSummary]: ...

    async def counts_per_hour(
        self, cam: str, since: float, until: float
    ) -> list[tuple[float, int]]:
        """(hour start, count) for every hour in [since, until) that has frames, ascending.

        The hours are counted from ``since`` (``since``, ``since + 3600``, ...), so from a
        local midnight they are the local hours of any zone, +05:30 included.
        """
        ...

    async def existing_frame_ids(self, frame_ids: Sequence[str]) -> set[str]:
        """Which of ``frame_ids`` have a row (the orphan sweep asks in batches)."""
        ...

    async def delete_frame(self, frame_id: str) -> FrameRecord | None:
        """Remove the row and return it (the caller deletes the blob), None if absent."""
        ...

    async def oldest_frames(
        self, cam: str, *, before: float | None = None, limit: int = 500
    ) -> list[FrameRecord]:
        """The cam's oldest frames (ascending ts), optionally only those with ts < before."""
        ...

    async def add_token(self, token: TokenRecord) -> None: ...

    async def token_by_hash(self, token_hash: str) -> TokenRecord | None: ...

    async def list_tokens(self) -> list[TokenRecord]: ...

    async def revoke_token(self, token_id: str) -> bool:
        """Mark the token revoked; False if no such token."""
        ...

    async def add_session(self, key: str, session: LiveSession, *, keep: int) -> None:
        """Store a gallery session under ``key`` (a hash of its id); drops expired sessions,
        and the user's oldest beyond the newest ``keep``."""
        ...

    async def get_session(self, key: str) -> LiveSession | None:
        """The session as stored, expired or not (the caller decides); None if absent."""
        ...

    async def delete_session(self, key: str) -> None: ...

    async def delete_user_sessions(self, user: str) -> int:
        """End every session of ``user``; how many there were."""
        ...

    async def check(self) -> None:
        """Raise :class:`StorageError` unless the index answers (``/readyz``)."""
        ...

    async def close(self) -> None: ...
