"""What a test does when a real part it needs is missing: skip on a developer's machine, fail
in CI (``CI=true``, set by ``.ci/run``), where a silent skip would hide that nothing was proven.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(what: str) -> NoReturn:
    """Skip (or, in CI, fail) a test because ``what`` is not available here."""
    if in_ci():
        pytest.fail(f"{what}; CI must run this test (scripts/test installs what it needs)")
    pytest.skip(what)
