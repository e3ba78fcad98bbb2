"""The chaos benchmark's short mode, as part of the suite: twelve failure scenarios (archive
killed, 5xx/429/413 bursts, a hung archive, a revoked token, cam SIGKILLs and SIGTERM, two
scaled nodes with one killed, PostgreSQL restarted, a full outbox and a full filesystem, a slow
lossy link), each checked for "every frame the cam accepted is in the archive exactly once,
sha256-identical, or dead-lettered with its reason" (``benchmarks/chaos.py``).

It runs as a child process, as a user would run it; on failure its table and seed (replay with
``--seed N``) are in the assertion message.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CHAOS = Path(__file__).resolve().parents[1] / "benchmarks" / "chaos.py"


@pytest.mark.timeout(900)
def test_short_chaos_loses_and_duplicates_no_frame() -> None:
    done = subprocess.run(
        [sys.executable, str(CHAOS), "--short"], capture_output=True, text=True, timeout=840
    )
    report = done.stdout[-8000:] + done.stderr[-4000:]
    assert done.returncode == 0, report
    assert "every accepted frame accounted for" in done.stdout, report
