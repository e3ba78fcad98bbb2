"""The outbox on a real disk: durability rules, crash leftovers, size bound, full disk."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from yardcam.outbox import (
    CorruptEntry,
    DiskFull,
    FullPolicy,
    Outbox,
    OutboxError,
    OutboxFull,
    OutboxState,
    frame_id,
)


def put(box: Outbox, seq: int, size: int = 1000, *, ts: float = 1_700_000_000.0) -> bytes:
    jpeg = os.urandom(size)
    box.put(cam="yard", jpeg=jpeg, ts=ts + seq / 10, seq=seq, change=12.5)
    return jpeg


def files(box: Outbox, sub: str = "pending") -> list[str]:
    return sorted(p.name for p in (box.directory / sub).iterdir())


def test_put_is_durable_and_reopens_with_everything(tmp_path: Path) -> None:
    box = Outbox(tmp_path)
    jpegs = [put(box, seq) for seq in range(3)]
    first = box.pending()[0]
    box.defer(first.id, next_attempt=123.0, error="500 boom")

    again = Outbox(tmp_path)
    assert [e.seq for e in again.pending()] == [0, 1, 2]
    assert [again.read_jpeg(e) for e in again.pending()] == jpegs
    reopened = again.pending()[0]
    assert (reopened.attempts, reopened.next_attempt, reopened.last_error) == (1, 123.0, "500 boom")
    assert reopened.id == frame_id("yard", 1_700_000_000.0, 0) == "yard-1700000000000-0"
    assert reopened.sha256 == hashlib.sha256(jpegs[0]).hexdigest()
    assert again.recovered == 0


def test_the_same_frame_twice_is_stored_once(tmp_path: Path) -> None:
    box = Outbox(tmp_path)
    jpeg = put(box, 7)
    box.put(cam="yard", jpeg=jpeg, ts=1_700_000_000.7, seq=7, change=1.0)
    assert len(box) == 1
    assert len(files(box)) == 2


def test_remove_and_dead_letter(tmp_path: Path) -> None:
    box = Outbox(tmp_path)
    put(box, 0)
    jpeg = put(box, 1)
    a, b = box.pending()
    box.remove(a.id)
    letter = box.dead_letter(b.id, "413 frame too large")
    assert letter is not None and letter.reason == "413 frame too large"
    assert len(box) == 0 and box.total_bytes == 0 and files(box) == []
    assert files(box, "dead") == [f"{b.id}.jpg", f"{b.id}.json"]
    assert (box.directory / "dead" / f"{b.id}.jpg").read_bytes() == jpeg
    [listed] = Outbox(tmp_path).dead_letters()
    assert (listed.id, listed.reason, listed.entry) == (b.id, "413 frame too large", b)
    # Gone entries are a no-op, not an error: they may have been evicted meanwhile.
    box.remove(a.id)
    assert box.dead_letter(a.id, "x") is None
    assert box.defer(a.id, next_attempt=0, error="x") is None


def test_open_cleans_what_a_crash_left(tmp_path: Path) -> None:
    box = Outbox(tmp_path)
    put(box, 0)
    whole = box.pending()[0]
    pending = tmp_path / "pending"
    # put() killed after the JPEG rename, before the metadata: never committed.
    (pending / "yard-1700000000100-1.jpg").write_bytes(b"half")
    # put() killed mid-write: temp files.
    (pending / ".yard-1700000000200-2.jpg.999.tmp").write_bytes(b"partial")
    (pending / ".yard-1700000000000-0.json.999.tmp").write_bytes(b"{")
    # A power cut resurrected metadata whose JPEG was already gone.
    (pending / "yard-1700000000300-3.json").write_bytes(whole.to_json())

    again = Outbox(tmp_path)
    assert again.recovered == 4
    assert [e.id for e in again.pending()] == [whole.id]
    assert files(again) == [f"{whole.id}.jpg", f"{whole.id}.json"]


def test_damaged_entries_are_dead_lettered_on_open(tmp_path: Path) -> None:
    box = Outbox(tmp_path)
    for seq in range(3):
        put(box, seq)
    a, b, c = box.pending()
    (tmp_path / "pending" / f"{a.id}.jpg").write_bytes(b"truncated")
    (tmp_path / "pending" / f"{b.id}.json").write_bytes(b"not json")
    again = Outbox(tmp_path)
    assert [e.id for e in again.pending()] == [c.id]
    reasons = {d.id: d.reason for d in again.dead_letters()}
    assert reasons[a.id].startswith("corrupt: JPEG size")
    assert reasons[b.id].startswith("corrupt metadata")
    assert again.dead_count == 2


def test_a_half_done_dead_letter_move_is_completed(tmp_path: Path) -> None:
    box = Outbox(tmp_path)
    put(box, 0)
    entry = box.pending()[0]
    # Killed right after dead/<id>.json was written, before the JPEG moved.
    (tmp_path / "dead" / f"{entry.id}.json").write_bytes(entry.to_json(reason="400 bad", dead_at=1))
    again = Outbox(tmp_path)
    assert len(again) == 0 and files(again) == []
    assert files(again, "dead") == [f"{entry.id}.jpg", f"{entry.id}.json"]
    assert again.dead_letters()[0].reason == "400 bad"


def test_a_bit_flip_is_caught_before_sending(tmp_path: Path) -> None:
    box = Outbox(tmp_path)
    jpeg = put(box, 0)
    entry = box.pending()[0]
    (tmp_path / "pending" / f"{entry.id}.jpg").write_bytes(bytes([jpeg[0] ^ 1]) + jpeg[1:])
    with pytest.raises(CorruptEntry):
        box.read_jpeg(entry)
    box.remove(entry.id)
    assert box.read_jpeg(entry) is None


def test_full_outbox_keeps_the_newest(tmp_path: Path) -> None:
    box = Outbox(tmp_path, max_entries=3)
    for seq in range(5):
        put(box, seq)
    assert [e.seq for e in box.pending()] == [2, 3, 4]
    assert box.evicted == 2 and len(files(box)) == 6

    by_bytes = Outbox(tmp_path / "b", max_bytes=2500)
    for seq in range(4):
        put(by_bytes, seq, size=1000)
    assert [e.seq for e in by_bytes.pending()] == [2, 3]
    assert by_bytes.total_bytes == 2000 and by_bytes.evicted == 2
    with pytest.raises(OutboxFull, match="exceeds max_bytes"):
        put(by_bytes, 9, size=3000)


def test_reject_new_policy_and_a_lowered_bound_on_reopen(tmp_path: Path) -> None:
    box = Outbox(tmp_path, max_entries=2, policy=FullPolicy.REJECT_NEW)
    put(box, 0)
    put(box, 1)
    with pytest.raises(OutboxFull):
        put(box, 2)
    assert [e.seq for e in box.pending()] == [0, 1] and box.evicted == 0
    # REJECT_NEW never deletes a frame, even over a lowered bound; EVICT_OLDEST trims.
    assert len(Outbox(tmp_path, max_entries=1, policy=FullPolicy.REJECT_NEW)) == 2
    smaller = Outbox(tmp_path, max_entries=1)
    assert [e.seq for e in smaller.pending()] == [1] and smaller.evicted == 1


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Outbox(tmp_path, max_entries=0)
    with pytest.raises(ValueError):
        Outbox(tmp_path, max_bytes=0)
    box = Outbox(tmp_path)
    with pytest.raises(ValueError, match="cam name"):
        box.put(cam="../etc", jpeg=b"x", ts=1.0, seq=0, change=0.0)
    with pytest.raises(ValueError, match="seq"):
        box.put(cam="yard", jpeg=b"x", ts=1.0, seq=-1, change=0.0)


def test_a_full_disk_is_a_state_not_corruption(tiny_disk: Path) -> None:
    box = Outbox(tiny_disk, max_bytes=None, keep_free=None)  # nothing keeps the disk from filling
    stored = []
    with pytest.raises(DiskFull):
        for seq in range(100):
            stored.append(put(box, seq, size=6000))
    assert box.state is OutboxState.DISK_FULL
    assert len(box) == len(stored) > 0
    assert not [n for n in files(box) if n.endswith(".tmp")]
    assert len(files(box)) == 2 * len(stored)  # the refused frame left nothing behind

    again = Outbox(tiny_disk, max_bytes=None, keep_free=None)
    assert [again.read_jpeg(e) for e in again.pending()] == stored
    assert again.recovered == 0
    # Space freed: the next frame goes in and the state clears.
    for entry in box.pending()[:2]:
        box.remove(entry.id)
    put(box, 200, size=6000)
    assert box.state is OutboxState.OK


def test_metadata_is_plain_json(tmp_path: Path) -> None:
    box = Outbox(tmp_path)
    put(box, 0)
    entry = box.pending()[0]
    doc = json.loads((tmp_path / "pending" / f"{entry.id}.json").read_text())
    assert doc["cam"] == "yard" and doc["seq"] == 0 and doc["attempts"] == 0
    assert doc["sha256"] == entry.sha256 and doc["size"] == 1000
    assert doc["event"] is None  # queued without a motion event


def test_the_event_id_is_kept_and_checked(tmp_path: Path) -> None:
    box = Outbox(tmp_path)
    box.put(cam="yard", jpeg=b"\xff\xd8x", ts=1_700_000_000.0, seq=0, change=9, event="17-0")
    assert Outbox(tmp_path).pending()[0].event == "17-0"
    meta = tmp_path / "pending" / "yard-1700000000000-0.json"
    doc = json.loads(meta.read_text())
    meta.write_text(json.dumps({**doc, "event": "../17"}))
    again = Outbox(tmp_path)
    assert len(again) == 0 and "bad event id" in again.dead_letters()[0].reason


def test_a_dead_lettered_frame_is_not_stored_again(tmp_path: Path) -> None:
    box = Outbox(tmp_path)
    jpeg = put(box, 0)
    box.dead_letter(box.pending()[0].id, "415 not a JPEG")
    with pytest.raises(OutboxError, match="already dead-lettered"):
        box.put(cam="yard", jpeg=jpeg, ts=1_700_000_000.0, seq=0, change=12.5)
    assert len(box) == 0


def test_metadata_with_wrong_types_is_dead_lettered(tmp_path: Path) -> None:
    box = Outbox(tmp_path)
    put(box, 0)
    entry = box.pending()[0]
    meta = tmp_path / "pending" / f"{entry.id}.json"
    doc = json.loads(meta.read_text())
    doc["seq"] = "zero"
    meta.write_text(json.dumps(doc))
    again = Outbox(tmp_path)
    assert len(again) == 0
    assert "wrong type" in again.dead_letters()[0].reason


def test_a_failed_put_evicts_nothing(tiny_disk: Path) -> None:
    box = Outbox(tiny_disk, max_entries=1, max_bytes=None)
    kept = put(box, 0, size=1000)
    with pytest.raises(DiskFull):
        put(box, 1, size=100_000)  # would evict seq 0 to fit the bound, but the disk is too small
    assert [box.read_jpeg(e) for e in box.pending()] == [kept] and box.evicted == 0


def test_the_oldest_are_evicted_before_the_disk_is_full(tiny_disk: Path) -> None:
    box = Outbox(tiny_disk, max_bytes=None)  # only keep_free (5 % of the disk) holds it back
    frames = [put(box, seq, size=6000) for seq in range(40)]  # ~4x what the 64 KiB disk holds
    assert box.state is OutboxState.OK and box.evicted > 0
    kept = [e.seq for e in box.pending()]
    assert kept == list(range(40 - len(kept), 40))  # the newest, in order
    assert [box.read_jpeg(e) for e in box.pending()] == frames[-len(kept) :]
    disk = os.statvfs(tiny_disk)
    assert box.keep_free is not None and disk.f_bavail * disk.f_frsize >= box.keep_free


def test_the_default_byte_bound_comes_from_the_free_space(tiny_disk: Path) -> None:
    box = Outbox(tiny_disk)
    assert box.max_bytes is not None and 0 < box.max_bytes <= 32 * 1024
    for seq in range(40):
        put(box, seq, size=3000)
    assert 0 < box.total_bytes <= box.max_bytes
    assert box.evicted == 40 - len(box) and box.state is OutboxState.OK
