"""The progress bar of long commands (``archive export``, ``outbox drain``): tqdm on a
terminal, nothing when stderr is a pipe, a file or a journal (tqdm's ``disable=None``)."""

from __future__ import annotations

import sys
from typing import TextIO

from tqdm import tqdm


def progress_bar(unit: str, total: int | None = None, stream: TextIO | None = None) -> tqdm:
    return tqdm(total=total, unit=f" {unit}", file=stream or sys.stderr, disable=None)
