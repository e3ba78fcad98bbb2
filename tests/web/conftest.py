"""Fixtures for the yardcam.web tests."""

from __future__ import annotations

import pytest

from web.websupport import CHEAP, PASSWORD
from yardcam.web import Accounts


@pytest.fixture
def accounts() -> Accounts:
    accounts = Accounts(hasher=CHEAP)
    accounts.set_password("alice", PASSWORD)
    return accounts
