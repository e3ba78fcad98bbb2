"""The exactly-once check shared by the crash test and ``benchmarks/chaos.py``.

The promise: every frame the cam *accepted* (durably stored in its outbox: the ``stored`` line
of the cam's ledger) is in the archive exactly once and sha256-identical, or dead-lettered with
its reason. The archive side is read straight from storage (index rows and the blobs' bytes),
so neither the API nor the cam's own counters vouch for themselves.

The ledger is the one ``tests/outbox/crash_cam.py`` appends (one ``os.write`` per line)::

    intent <id> <sha256>   the frame triggered and is handed to Uploader.submit
    stored <id>            the outbox holds it durably: accepted from here on
    stall <ms>             the longest event-loop stall of the cam since the last such line
    counts <pid> <evicted> <dropped>   one cam process's counts so far (the last one counts)

Frames the outbox evicted to stay within its bound are accounted for by count (the outbox
says how many, not which): ``lost`` is what neither the archive, the dead letters nor the
evictions explain.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from yardcam.archive import ArchiveSettings
from yardcam.archive.storage import FrameRecord, open_blob_store, open_frame_index
from yardcam.outbox import Outbox, frame_id


@dataclass
class Ledger:
    intents: dict[str, str] = field(default_factory=dict)  # frame id -> sha256
    stored: set[str] = field(default_factory=set)
    longest_stall_ms: float = 0.0
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)  # pid -> evicted, dropped

    @property
    def evicted(self) -> int:
        return sum(evicted for evicted, _ in self.counts.values())

    @property
    def dropped(self) -> int:
        return sum(dropped for _, dropped in self.counts.values())


def read_ledger(path: Path) -> Ledger:
    ledger = Ledger()
    for line in path.read_text().splitlines():
        kind, value, *rest = line.split()
        if kind == "intent":
            ledger.intents[value] = rest[0]
        elif kind == "stored":
            ledger.stored.add(value)
        elif kind == "stall":
            ledger.longest_stall_ms = max(ledger.longest_stall_ms, float(value))
        elif kind == "counts":
            ledger.counts[value] = (int(rest[0]), int(rest[1]))
    return ledger


@dataclass(frozen=True)
class ArchivedFrame:
    key: str  # the Idempotency-Key it was stored under (the cam's frame id)
    sha256_recorded: str  # what the index says
    sha256_read: str  # what the blob store gives back


async def archived_frames(settings: ArchiveSettings, cam: str) -> list[ArchivedFrame]:
    """Every frame of ``cam`` in the archive's index, with its blob's bytes hashed."""
    index = await open_frame_index(settings.index)
    blobs = await open_blob_store(settings.blobs)
    found: list[ArchivedFrame] = []
    try:
        cursor = None
        while True:
            page = await index.list_frames(cam=cam, limit=500, cursor=cursor, newest_first=False)
            for record in page.frames:
                data = await blobs.read(record.blob_key)
                found.append(
                    ArchivedFrame(
                        record.idempotency_key or _frame_id_of(record),
                        record.sha256,
                        hashlib.sha256(data).hexdigest(),
                    )
                )
            cursor = page.next_cursor
            if cursor is None:
                return found
    finally:
        await blobs.close()
        await index.close()


def _frame_id_of(record: FrameRecord) -> str:
    """The cam's id for a row stored without a key (an archive that dropped it): its capture
    time and seq, so a resend stored twice counts as a duplicate, not as a stranger."""
    if record.seq is None:
        return f"<no key, no seq: {record.id}>"
    return frame_id(record.cam, record.ts, record.seq)


@dataclass(frozen=True)
class Verdict:
    """One row of the chaos table; ``problems`` says what broke the promise, if anything."""

    accepted: int
    archived: int
    duplicates: int
    lost: int
    dead_lettered: int
    evicted: int  # accepted, then evicted to keep the outbox within its bound (counted)
    dropped: int  # never accepted: the outbox could not store them (counted)
    longest_stall_ms: float
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def judge(ledger: Ledger, archived: list[ArchivedFrame], outbox: Path) -> Verdict:
    """Hold the archive and the outbox's dead letters against the cam's ledger."""
    problems: list[str] = []
    box = Outbox(outbox)
    dead = {letter.id: letter.reason for letter in box.dead_letters()}
    pending = [entry.id for entry in box.pending()]
    by_key = Counter(frame.key for frame in archived)
    by_sha = Counter(frame.sha256_read for frame in archived)
    duplicates = sum(n - 1 for n in by_key.values()) + sum(n - 1 for n in by_sha.values())
    if duplicates:
        problems.append(f"{duplicates} frames archived more than once")
    for frame in archived:
        expected = ledger.intents.get(frame.key)
        if expected is None:
            problems.append(f"{frame.key}: archived, but the cam never triggered it")
        elif not frame.sha256_read == frame.sha256_recorded == expected:
            problems.append(f"{frame.key}: archived bytes differ from the captured frame")
    missing = sorted(ledger.stored - by_key.keys() - dead.keys())
    lost = max(0, len(missing) - ledger.evicted)
    if lost:
        problems.append(
            f"{lost} accepted frames not archived, dead-lettered or evicted: {missing[:5]}"
        )
    unexplained = [key for key, reason in dead.items() if not reason.strip()]
    if unexplained:
        problems.append(f"dead letters without a reason: {unexplained[:5]}")
    if pending:
        problems.append(f"{len(pending)} frames still pending in the outbox")
    return Verdict(
        accepted=len(ledger.stored),
        archived=len(by_key.keys() & ledger.stored),
        duplicates=duplicates,
        lost=lost,
        # A frame stored by the archive whose answer was lost, then refused on its resend (a
        # fault proxy's 413 here) is archived: counted once, there.
        dead_lettered=len((dead.keys() & ledger.stored) - by_key.keys()),
        evicted=ledger.evicted,
        dropped=ledger.dropped,
        longest_stall_ms=ledger.longest_stall_ms,
        problems=tuple(problems),
    )
