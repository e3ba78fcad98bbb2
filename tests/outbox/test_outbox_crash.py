"""kill -9 the cam, and the archive too, at random moments while frames trigger and upload:
nothing accepted is lost, nothing is archived twice, on both storage stacks.

The archive is the real one (``yardcam.archive`` in its own process, see
``archive/node_process.py``), so its idempotency is the index's unique key, not a test stub's
dict. The schedule (when each cam dies, when the archive dies and for how long) comes from one
seed, printed at the start; ``YARDCAM_CRASH_SEED=<seed>`` replays it.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from archive.helpers import make_settings, new_token
from archive.node_process import NodeProcess
from exactly_once import archived_frames, judge, read_ledger
from serving import TLSFiles

CAM = Path(__file__).with_name("crash_cam.py")
KILLS = 12  # cam kills per stack; the archive is killed in about half of the runs


def crash_seed() -> int:
    """The seed from ``YARDCAM_CRASH_SEED``, or a fresh one."""
    raw = os.environ.get("YARDCAM_CRASH_SEED")
    return int(raw) if raw else random.randrange(1 << 30)


def stored_count(ledger: Path) -> int:
    return ledger.read_text().count("stored ") if ledger.exists() else 0


def wait_until(predicate: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.mark.parametrize("stack", ["file+sqlite", "s3+postgres"])
def test_kill_9_cam_and_archive_at_random_moments(
    stack: str, tls_files: TLSFiles, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    seed = crash_seed()
    context = f"seed {seed} (replay: YARDCAM_CRASH_SEED={seed} pytest {request.node.nodeid})"
    print(context)
    rng = random.Random(seed)
    settings = make_settings(stack, tmp_path / "archive", request)
    token = tmp_path / "token"
    token.write_text(new_token(settings, "crash"))
    outbox, ledger = tmp_path / "outbox", tmp_path / "ledger"

    with NodeProcess(settings, tls=tls_files, log=tmp_path / "node.log") as node:
        command = [sys.executable, str(CAM), "--outbox", str(outbox), "--ledger", str(ledger)]
        command += ["--url", f"{node.url}/frames", "--ca", str(tls_files.ca_pem)]
        command += ["--token", str(token)]
        node.start()
        node.wait_ready()
        archive_kills = 0
        for run in range(KILLS):
            before = stored_count(ledger)
            cam = subprocess.Popen([*command, "--seed", str(run)])
            # Random moments: the cam importing, recovering, triggering, storing or uploading;
            # the archive parsing, storing a blob, inserting its row or answering. Every other
            # run waits for the cam's first stored frame first, so kills hit it at work even
            # when starting it takes most of a second (a loaded CI box).
            if run % 2:
                wait_until(lambda n=before: stored_count(ledger) > n, "the cam to store a frame")
                time.sleep(rng.uniform(0.0, 0.6))
            else:
                time.sleep(rng.uniform(0.3, 1.2))
            if rng.random() < 0.5:
                node.kill()
                archive_kills += 1
                time.sleep(rng.uniform(0.0, 0.5))  # uploads queue on the socket meanwhile
                node.start()
                time.sleep(rng.uniform(0.1, 0.6))
            assert cam.poll() is None, f"the cam died on its own ({context})"
            cam.send_signal(signal.SIGKILL)
            assert cam.wait() == -signal.SIGKILL
        node.wait_ready()
        subprocess.run([*command, "--drain"], check=True, timeout=120)

    found = read_ledger(ledger)
    verdict = judge(found, asyncio.run(archived_frames(settings, "crash")), outbox)
    print(
        f"{context}: {len(found.intents)} triggered, {verdict.accepted} accepted, "
        f"{verdict.archived} archived, {archive_kills} archive kills, {KILLS} cam kills"
    )
    assert verdict.accepted >= KILLS // 2, context  # the kills really hit a cam at work
    assert archive_kills > 0, context
    assert verdict.ok, f"{context}: {verdict.problems}"
    assert verdict.archived == verdict.accepted, context  # nothing refused here: all archived
