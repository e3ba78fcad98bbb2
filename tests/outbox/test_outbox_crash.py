"""kill -9 at random moments while frames trigger and upload: nothing lost, nothing twice."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from archive_stub import ArchiveStub

from serving import Running, TLSFiles

CAM = Path(__file__).with_name("crash_cam.py")
KILLS = 22


def read_ledger(path: Path) -> tuple[dict[str, str], set[str]]:
    intents: dict[str, str] = {}
    stored: set[str] = set()
    for line in path.read_text().splitlines():
        kind, frame, *sha = line.split()
        if kind == "intent":
            intents[frame] = sha[0]
        else:
            stored.add(frame)
    return intents, stored


def test_kill_9_at_random_moments(
    stub: ArchiveStub, archive: Running, tls_files: TLSFiles, tmp_path: Path
) -> None:
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    stub.script = [rng.choice(["500", "accept", "accept"]) for _ in range(300)]
    token = tmp_path / "token"
    token.write_text(stub.token)
    outbox, ledger = tmp_path / "outbox", tmp_path / "ledger"
    command = [sys.executable, str(CAM), "--outbox", str(outbox), "--ledger", str(ledger)]
    command += ["--url", f"{archive.url}/frames", "--ca", str(tls_files.ca_pem)]
    command += ["--token", str(token)]

    for run in range(KILLS):
        cam = subprocess.Popen([*command, "--seed", str(run)])
        # A random moment: while importing, recovering, triggering, storing or uploading.
        time.sleep(rng.uniform(0.3, 1.5))
        assert cam.poll() is None, f"the cam died on its own (seed {seed})"
        cam.send_signal(signal.SIGKILL)
        assert cam.wait() == -signal.SIGKILL
    subprocess.run([*command, "--drain"], check=True, timeout=60)

    intents, stored = read_ledger(ledger)
    archived = {key: got.sha256 for key, got in stub.stored.items()}
    context = f"seed {seed}"
    resent = len(stub.posts) - len(stub.stored)
    print(f"{context}: {len(intents)} triggered, {len(stored)} stored, {len(archived)} archived,")
    unstored = len(intents) - len(archived)
    print(f"  {resent} resends absorbed by Idempotency-Key, {unstored} killed before durable")
    assert len(stored) > KILLS, context  # the kills really hit a cam at work
    assert stored <= archived.keys(), context  # every durably triggered frame is archived
    assert archived.keys() <= intents.keys(), context  # nothing the cam did not trigger
    assert all(archived[key] == intents[key] for key in archived), context  # byte-identical
    assert len(set(archived.values())) == len(archived), context  # no frame under two ids
    # Only frames killed before they were durable may be missing.
    assert not (intents.keys() - archived.keys()) & stored, context
    assert list((outbox / "pending").iterdir()) == [], context  # drained, no leftovers
    assert list((outbox / "dead").iterdir()) == [], context
