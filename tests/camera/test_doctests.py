"""The examples in docstrings are run, so they stay true."""

import doctest
import importlib

import pytest

MODULES = [
    "yardcam.camera",
    "yardcam.camera._hub",
    "yardcam.camera._mjpeg",
    "yardcam.camera._open",
    "yardcam.camera._scene",
    "yardcam.motion",
    "yardcam.motion._detector",
    "yardcam.motion._policy",
    "yardcam.motion._zones",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0
    assert result.failed == 0
