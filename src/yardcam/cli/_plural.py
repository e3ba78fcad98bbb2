"""Counts in the commands' output: ``1 frame``, ``2 frames``, never ``1 frames``.

>>> counted(1, "frame"), counted(0, "frame"), counted(2, "trigger")
('1 frame', '0 frames', '2 triggers')
"""

from __future__ import annotations


def counted(n: int, noun: str) -> str:
    """``n`` and ``noun``, plural by an ``s`` unless ``n`` is 1 (every noun printed here
    takes one)."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
