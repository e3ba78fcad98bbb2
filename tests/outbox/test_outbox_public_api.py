"""The public surface of yardcam.outbox is pinned, and its docstring examples run."""

from __future__ import annotations

import doctest

import pytest

import yardcam.outbox
from yardcam.outbox import _token


def test_exported_names() -> None:
    assert yardcam.outbox.__all__ == [
        "AUTO",
        "CorruptEntry",
        "DeadLetter",
        "DiskFull",
        "Entry",
        "FrameLike",
        "FullPolicy",
        "MotionLike",
        "Outbox",
        "OutboxError",
        "OutboxFull",
        "OutboxState",
        "Outcome",
        "TokenSource",
        "TokenUnavailable",
        "UploadState",
        "Uploader",
        "Verdict",
        "classify_error",
        "classify_response",
        "frame_id",
    ]
    public = {name for name in vars(yardcam.outbox) if not name.startswith("_")}
    assert public == set(yardcam.outbox.__all__)


@pytest.mark.parametrize("module", [_token])
def test_docstring_examples(module: object) -> None:
    result = doctest.testmod(module)  # type: ignore[arg-type]
    assert result.attempted > 0 and result.failed == 0
