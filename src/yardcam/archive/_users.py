"""Gallery users of an archive node: argon2 hashes in ``settings.accounts_path``."""

from __future__ import annotations

from ..web import Accounts
from ._settings import ArchiveSettings


def create_user(settings: ArchiveSettings, username: str, password: str) -> None:
    """Create a gallery user or replace its password (``ValueError`` on a weak/invalid input).

    A running node re-reads the accounts file, so this works while it serves.
    """
    settings.accounts_path.parent.mkdir(parents=True, exist_ok=True)
    Accounts(settings.accounts_path).set_password(username, password)
