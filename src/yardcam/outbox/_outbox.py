"""The durable pending queue: every triggered frame is on disk before anything else happens.

Layout (one directory per cam)::

    <directory>/pending/<id>.jpg    the JPEG exactly as captured (never re-encoded)
    <directory>/pending/<id>.json   its metadata; the file whose presence commits the entry
    <directory>/dead/<id>.jpg       frames the archive refused for good ...
    <directory>/dead/<id>.json      ... with the refusal reason and time
    .<name>.<pid>.tmp               a write in progress (deleted on open: a crash left it)

An entry's life (every move is one method, under one lock)::

    put ──> pending ──remove───────> gone    the archive has it
            │  ^  ├──dead_letter──> dead/   refused for good, with the reason
            └──┘  └──(evicted)────> gone    the bound needed room; counted in ``evicted``
            defer: a failed attempt (attempts + 1, next attempt time, last error)

Crash rules (``kill -9`` or power cut at any instant):

* ``put`` writes the JPEG (temp, fsync, rename), then the metadata (temp, fsync, rename), then
  fsyncs the directory, and only then returns: an entry is durable once ``put`` returned.
* On open, temp files, a JPEG without metadata (``put`` interrupted) and metadata without a JPEG
  are deleted; a JPEG whose size differs from its metadata is dead-lettered as corrupt. An entry
  is therefore either whole or absent, never half or twice.
* ``remove`` unlinks the metadata first, so a half-removed entry is absent. If a power cut
  resurrects an entry the archive already has, it is resent with the same ``Idempotency-Key``
  and the archive answers with the stored copy: still exactly once.
* ``dead_letter`` writes ``dead/<id>.json`` first and then moves the JPEG; open completes a
  move it finds half done.

Size bound: ``max_entries`` and ``max_bytes`` (by default half the space the outbox could
use when it is opened: what is free plus what it already holds), and ``keep_free`` bytes left
free on the filesystem (by default 5 % of it, at most 256 MiB), checked before every write since
other programs fill disks too. When a new frame does not fit, the default policy
(:attr:`FullPolicy.EVICT_OLDEST`) keeps the newest frames: the oldest entries are deleted and
counted in :attr:`Outbox.evicted`, after the new frame is stored for the size bounds, before it
is written when the disk itself needs the room (never when even that would not make room);
:attr:`FullPolicy.REJECT_NEW` refuses the new frame instead. So the disk does not fill up and
"keep the newest" never turns into "drop the newest". A full disk all the same (ENOSPC/EDQUOT)
is a state, :attr:`OutboxState.DISK_FULL`: the new frame is not stored (its partial files are
removed), :class:`DiskFull` is raised, and existing entries are untouched.

All methods block on disk I/O and are thread-safe; async callers run them in a thread.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum, StrEnum
from pathlib import Path

from yardcam.durable import TEMP_SUFFIX, fsync_dir, is_disk_full, write_atomic
from yardcam.outbox._entry import Entry, InvalidEntry, frame_id, is_frame_id

log = logging.getLogger("yardcam.outbox")


class OutboxState(StrEnum):
    OK = "ok"
    DISK_FULL = "disk full"


class FullPolicy(StrEnum):
    EVICT_OLDEST = "evict oldest"
    REJECT_NEW = "reject new"


class OutboxError(Exception):
    """Base of the outbox's own errors (other OSErrors from the disk pass through)."""


class OutboxFull(OutboxError):
    """The frame does not fit the size bound and the policy refuses new frames."""


class DiskFull(OutboxError):
    """The disk or quota is full; the frame was not stored and nothing else was harmed."""


class CorruptEntry(OutboxError):
    """A stored JPEG no longer matches the size or sha256 recorded when it was enqueued."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A frame the archive refused for good; ``entry`` is None if its metadata was unreadable."""

    id: str
    reason: str
    dead_at: float
    entry: Entry | None


class _Auto(Enum):
    AUTO = "auto"


#: "Derive it from the filesystem" (see the module doc); ``None`` means "no such bound".
AUTO = _Auto.AUTO
_KEEP_FREE_SHARE = 0.05
_KEEP_FREE_CAP = 256 * 2**20
_MAX_BYTES_SHARE = 0.5


class Outbox:
    """A size-bounded, crash-safe queue of frames waiting for the archive (see module doc)."""

    def __init__(
        self,
        directory: Path | str,
        *,
        max_entries: int = 10_000,
        max_bytes: int | _Auto | None = AUTO,
        keep_free: int | _Auto | None = AUTO,
        policy: FullPolicy = FullPolicy.EVICT_OLDEST,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be >= 1: {max_entries}")
        if isinstance(max_bytes, int) and max_bytes < 1:
            raise ValueError(f"max_bytes must be >= 1, None or AUTO: {max_bytes}")
        if isinstance(keep_free, int) and keep_free < 0:
            raise ValueError(f"keep_free must be >= 0, None or AUTO: {keep_free}")
        self.directory = Path(directory)
        self.max_entries = max_entries
        self.max_bytes: int | None = None
        self.keep_free: int | None = None
        self.policy = FullPolicy(policy)
        self._clock = clock
        self._pending = self.directory / "pending"
        self._dead = self.directory / "dead"
        self._lock = threading.Lock()
        # Insertion order is enqueue order, so the first key is always the oldest entry.
        self._entries: dict[str, Entry] = {}
        self._bytes = 0
        self.state = OutboxState.OK
        #: Entries deleted to make room (this run), partial files cleaned on open, dead letters.
        self.evicted = 0
        self.recovered = 0
        self.dead_count = 0
        self._pending.mkdir(parents=True, exist_ok=True)
        self._dead.mkdir(parents=True, exist_ok=True)
        self._block = os.statvfs(self._pending).f_frsize or 4096
        self._load_entries()
        disk = os.statvfs(self._pending)
        if keep_free is AUTO:
            size = disk.f_blocks * disk.f_frsize
            self.keep_free = min(int(size * _KEEP_FREE_SHARE), _KEEP_FREE_CAP)
        else:
            self.keep_free = keep_free
        if max_bytes is AUTO:
            usable = disk.f_bavail * disk.f_frsize + self._bytes
            self.max_bytes = max(int(usable * _MAX_BYTES_SHARE), 1)
        else:
            self.max_bytes = max_bytes
        self._recover_bounds()

    # -- queries ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def total_bytes(self) -> int:
        return self._bytes

    def get(self, entry_id: str) -> Entry | None:
        return self._entries.get(entry_id)

    def pending(self) -> list[Entry]:
        """A snapshot of every entry, oldest first."""
        with self._lock:
            return list(self._entries.values())

    def read_jpeg(self, entry: Entry) -> bytes | None:
        """The entry's JPEG, verified against its sha256; None if it was removed meanwhile."""
        try:
            data = (self._pending / f"{entry.id}.jpg").read_bytes()
        except FileNotFoundError:
            return None
        if len(data) != entry.size or hashlib.sha256(data).hexdigest() != entry.sha256:
            raise CorruptEntry(f"{entry.id}: JPEG does not match its recorded size/sha256")
        return data

    def dead_letters(self) -> list[DeadLetter]:
        """Every dead-lettered frame with its reason, oldest first."""
        letters = []
        for meta in self._dead.glob("*.json"):
            with contextlib.suppress(FileNotFoundError):
                letters.append(_read_dead_letter(meta))
        return sorted(letters, key=lambda d: d.dead_at)

    # -- changes ---------------------------------------------------------------------------

    def put(
        self, *, cam: str, jpeg: bytes, ts: float, seq: int, change: float, event: str | None = None
    ) -> Entry:
        """Store a frame durably and return its entry; the same frame twice is stored once.

        ``event``: the id of the motion event the frame belongs to (``MotionEvent.event``)."""
        entry_id = frame_id(cam, ts, seq)
        with self._lock:
            if (existing := self._entries.get(entry_id)) is not None:
                return existing
            if (self._dead / f"{entry_id}.json").exists():
                # The archive refused this very frame for good; a second copy would be refused
                # too, and open() would mistake it for a half-done dead-letter move.
                raise OutboxError(f"{entry_id} is already dead-lettered")
            victims = self._victims(1, len(jpeg))
            self._evict(self._make_disk_room(len(jpeg), victims))
            entry = Entry(
                id=entry_id,
                cam=cam,
                ts=ts,
                seq=seq,
                change=change,
                event=event,
                size=len(jpeg),
                sha256=hashlib.sha256(jpeg).hexdigest(),
                enqueued=self._clock(),
            )
            jpg, meta = self._paths(entry_id)
            try:
                write_atomic(jpg, jpeg, sync_dir=False)
                write_atomic(meta, entry.to_json(), sync_dir=False)
                fsync_dir(self._pending)
            except OSError as exc:
                self._unlink(meta, jpg)
                if is_disk_full(exc):
                    self.state = OutboxState.DISK_FULL
                    raise DiskFull(f"{entry_id} not stored: {exc.strerror}") from exc
                raise
            # Evict only once the new frame is safe: a failed put changes nothing.
            self._evict(victims)
            self.state = OutboxState.OK
            self._entries[entry_id] = entry
            self._bytes += entry.size
            return entry

    def defer(self, entry_id: str, *, next_attempt: float, error: str) -> Entry | None:
        """Record a failed attempt; None if the entry is gone (sent, evicted) meanwhile.

        The retry metadata is best effort: if it cannot be persisted (disk full), the entry
        keeps its old metadata on disk and the new one in memory, and is still sent.
        """
        with self._lock:
            entry = self._entries.get(entry_id)
            if entry is None:
                return None
            entry = self._entries[entry_id] = entry.deferred(next_attempt=next_attempt, error=error)
            try:
                write_atomic(self._paths(entry_id)[1], entry.to_json(), sync_dir=False)
            except OSError as exc:
                if is_disk_full(exc):
                    self.state = OutboxState.DISK_FULL
                log.warning("outbox: retry metadata of %s not saved: %s", entry_id, exc)
            return entry

    def remove(self, entry_id: str) -> None:
        """Forget an entry the archive accepted (no-op if it is already gone)."""
        with self._lock:
            self._drop(entry_id)

    def dead_letter(self, entry_id: str, reason: str) -> DeadLetter | None:
        """Move an entry to ``dead/`` with ``reason``; None if it is already gone."""
        with self._lock:
            entry = self._entries.get(entry_id)
            if entry is None:
                return None
            letter = DeadLetter(entry_id, reason, self._clock(), entry)
            self._bury(entry_id, entry.to_json(reason=reason, dead_at=letter.dead_at))
            del self._entries[entry_id]
            self._bytes -= entry.size
            return letter

    def revive(self, entry_id: str) -> Entry | None:
        """Move a dead letter back to pending, as if just enqueued (``yardcam outbox retry``);
        None if there is no such dead letter, or its metadata is unreadable.

        Crash-safe by the open rules: the JPEG moves back first and the pending metadata is
        written, and only then is the dead metadata (which makes an entry dead) removed; a crash
        before that leaves the frame dead, as it was.
        """
        with self._lock:
            dead_meta = self._dead / f"{entry_id}.json"
            try:
                letter = _read_dead_letter(dead_meta)
            except FileNotFoundError:
                return None
            if letter.entry is None or entry_id in self._entries:
                return None
            if not (self._dead / f"{entry_id}.jpg").exists():
                return None  # its JPEG is gone (a corrupt entry): nothing to send
            jpg, meta = self._paths(entry_id)
            entry = dataclasses.replace(
                letter.entry, attempts=0, next_attempt=0.0, last_error=None, enqueued=self._clock()
            )
            victims = self._victims(1, entry.size)
            os.replace(self._dead / f"{entry_id}.jpg", jpg)
            write_atomic(meta, entry.to_json(), sync_dir=False)
            fsync_dir(self._pending)
            dead_meta.unlink()
            fsync_dir(self._dead)
            self.dead_count -= 1
            self._evict(victims)
            self._entries[entry_id] = entry
            self._bytes += entry.size
            return entry

    # -- internals -------------------------------------------------------------------------

    def _paths(self, entry_id: str) -> tuple[Path, Path]:
        return self._pending / f"{entry_id}.jpg", self._pending / f"{entry_id}.json"

    @staticmethod
    def _unlink(*paths: Path) -> None:
        for path in paths:
            path.unlink(missing_ok=True)

    def _drop(self, entry_id: str) -> Entry | None:
        entry = self._entries.pop(entry_id, None)
        if entry is not None:
            self._bytes -= entry.size
            jpg, meta = self._paths(entry_id)
            self._unlink(meta, jpg)  # metadata first: it is the commit record
        return entry

    def _victims(self, entries: int, size: int) -> list[str]:
        """The oldest ids to evict so ``entries`` more of ``size`` bytes fit; or OutboxFull."""
        if self.max_bytes is not None and size > self.max_bytes:
            raise OutboxFull(f"a {size}-byte frame exceeds max_bytes={self.max_bytes}")
        count, total, victims = len(self._entries), self._bytes, []
        oldest_first = iter(self._entries.values())
        while count + entries > self.max_entries or (
            self.max_bytes is not None and total + size > self.max_bytes
        ):
            if self.policy is FullPolicy.REJECT_NEW:
                raise OutboxFull(f"outbox full ({count} entries, {total} bytes)")
            victim = next(oldest_first)
            victims.append(victim.id)
            count, total = count - 1, total - victim.size
        return victims

    def _on_disk(self, size: int) -> int:
        """Bytes a file of ``size`` takes on the filesystem (whole blocks)."""
        return -(-size // self._block) * self._block

    def _make_disk_room(self, size: int, victims: list[str]) -> list[str]:
        """The oldest ids to delete *before* writing a ``size``-byte frame so the filesystem
        keeps ``keep_free`` bytes free; none if that is already so, or if deleting every
        entry would not be enough (the write then meets ENOSPC: :class:`DiskFull`)."""
        if self.keep_free is None or self.policy is FullPolicy.REJECT_NEW:
            return []
        disk = os.statvfs(self._pending)
        need = self._on_disk(size) + 2 * self._block  # the JPEG, its metadata, slack
        short = need + self.keep_free - disk.f_bavail * disk.f_frsize
        if short <= 0:
            return []
        doomed: list[str] = []
        freed = 0
        for entry in self._entries.values():
            if freed >= short:
                return doomed
            if entry.id not in victims:
                doomed.append(entry.id)
                freed += self._on_disk(entry.size) + self._block
        return doomed if freed >= short else []

    def _evict(self, victims: list[str]) -> None:
        for entry_id in victims:
            self._drop(entry_id)
            self.evicted += 1
            log.warning("outbox full: evicted the oldest frame %s", entry_id)

    def _bury(self, entry_id: str, dead_meta: bytes) -> None:
        """Dead-letter on disk: the dead metadata first, so open can finish a half-done move."""
        jpg, meta = self._paths(entry_id)
        write_atomic(self._dead / f"{entry_id}.json", dead_meta, sync_dir=False)
        with contextlib.suppress(FileNotFoundError):
            os.replace(jpg, self._dead / f"{entry_id}.jpg")
        fsync_dir(self._dead)
        meta.unlink(missing_ok=True)
        self.dead_count += 1

    def _load_entries(self) -> None:
        """Bring the directory back to whole entries only (see the crash rules above)."""
        for directory in (self._pending, self._dead):
            for path in directory.iterdir():
                if path.name.endswith(TEMP_SUFFIX):
                    path.unlink()
                    self.recovered += 1
        for dead_meta in self._dead.glob("*.json"):
            jpg, meta = self._paths(dead_meta.stem)
            if jpg.exists():
                os.replace(jpg, self._dead / jpg.name)
            meta.unlink(missing_ok=True)
            self.dead_count += 1
        names = {path.name for path in self._pending.iterdir()}
        loaded = []
        for name in sorted(names):
            stem, _, suffix = name.rpartition(".")
            jpg, meta = self._paths(stem)
            if suffix not in ("jpg", "json") or not is_frame_id(stem):
                log.warning("outbox: ignoring stray file %s", name)
            elif f"{stem}.jpg" not in names or f"{stem}.json" not in names:
                # An interrupted put() (or remove()): the entry was never (or no longer) whole.
                self._unlink(self._pending / name)
                self.recovered += 1
            elif suffix == "json" and (entry := self._load(stem, jpg, meta)) is not None:
                loaded.append(entry)
        for entry in sorted(loaded, key=lambda e: (e.enqueued, e.ts, e.seq)):
            self._entries[entry.id] = entry
            self._bytes += entry.size

    def _recover_bounds(self) -> None:
        if self.policy is FullPolicy.EVICT_OLDEST:  # the bound may have been lowered since
            self._evict(self._victims(0, 0))
        fsync_dir(self._pending)

    def _load(self, entry_id: str, jpg: Path, meta: Path) -> Entry | None:
        try:
            entry, _ = Entry.from_json(meta.read_bytes())
        except InvalidEntry as exc:
            reason = f"corrupt metadata: {exc}"
            self._bury(entry_id, _dead_doc(entry_id, reason, self._clock()))
            return None
        if entry.id != entry_id or jpg.stat().st_size != entry.size:
            reason = "corrupt: JPEG size or id does not match its metadata"
            self._bury(entry_id, entry.to_json(reason=reason, dead_at=self._clock()))
            return None
        return entry


def _dead_doc(entry_id: str, reason: str, dead_at: float) -> bytes:
    """Dead metadata for an entry whose own metadata is unreadable."""
    return json.dumps({"id": entry_id, "reason": reason, "dead_at": dead_at}).encode()


def _read_dead_letter(meta: Path) -> DeadLetter:
    raw = meta.read_bytes()
    entry: Entry | None
    try:
        entry, extra = Entry.from_json(raw)
    except InvalidEntry:
        entry = None
        try:
            extra = json.loads(raw)
        except ValueError:
            extra = {}
    if not isinstance(extra, dict):
        extra = {}
    return DeadLetter(
        id=meta.stem,
        reason=str(extra.get("reason", "unreadable dead-letter metadata")),
        dead_at=float(extra.get("dead_at", 0.0)),
        entry=entry,
    )
