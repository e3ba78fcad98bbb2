"""User accounts: username -> argon2id hash, kept in a small JSON file.

The file is re-read when it changes on disk, so ``yardcam user add`` takes effect on a running
server without a restart. Verifying an unknown user still runs one argon2 verification (against
another user's hash, which costs the same), so response time does not reveal which usernames
exist.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..durable import write_atomic

log = logging.getLogger(__name__)

_USERNAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
_MAX_PASSWORD = 1024  # argon2 accepts any length; a cap keeps one request from burning CPU


class Accounts:
    """Thread-safe user store; ``path=None`` keeps users in memory only (tests, embedded use)."""

    def __init__(self, path: Path | None = None, *, hasher: PasswordHasher | None = None) -> None:
        self._path = path
        self._hasher = hasher or PasswordHasher()
        self._lock = threading.Lock()
        self._users: dict[str, str] = {}
        self._stamp: tuple[int, int] | None = None
        self._decoy_hash: str | None = None
        self._reload_if_changed()

    @property
    def path(self) -> Path | None:
        """The accounts file (None: kept in memory only)."""
        return self._path

    def __contains__(self, username: object) -> bool:
        with self._lock:
            self._reload_if_changed()
            return username in self._users

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            self._reload_if_changed()
            return iter(sorted(self._users))

    def __len__(self) -> int:
        with self._lock:
            self._reload_if_changed()
            return len(self._users)

    def set_password(self, username: str, password: str) -> None:
        """Create ``username`` or replace its password (which ends its existing sessions)."""
        if not _USERNAME.fullmatch(username):
            raise ValueError("username must be 1-64 letters, digits or _.@-")
        if not 8 <= len(password) <= _MAX_PASSWORD:
            raise ValueError(f"password must be 8 to {_MAX_PASSWORD} characters")
        hashed = self._hasher.hash(password)
        with self._lock:
            self._reload_if_changed()
            self._users[username] = hashed
            self._save()

    def remove(self, username: str) -> None:
        with self._lock:
            self._reload_if_changed()
            if self._users.pop(username, None) is None:
                raise KeyError(username)
            self._save()

    def verify(self, username: str, password: str) -> bool:
        """True if the password matches; upgrades the stored hash when argon2 parameters changed.

        CPU-heavy (tens of ms by design): call it from a worker thread in async code.
        """
        with self._lock:
            self._reload_if_changed()
            stored = self._users.get(username)
            target = stored or self._decoy()
        if len(password) > _MAX_PASSWORD:
            return False
        try:
            self._hasher.verify(target, password)
        except (VerificationError, InvalidHashError):
            return False
        if stored is None:
            return False
        if self._hasher.check_needs_rehash(stored):
            upgraded = self._hasher.hash(password)
            with self._lock:
                # Only replace the hash we verified: a concurrent password change wins.
                if self._users.get(username) == stored:
                    self._users[username] = upgraded
                    self._save()
        return True

    def session_tag(self, username: str) -> str | None:
        """A short fingerprint of the user's current hash, or None if the user is gone.

        Sessions record it at login; a password change or removal changes it, which ends them.
        """
        with self._lock:
            self._reload_if_changed()
            stored = self._users.get(username)
        if stored is None:
            return None
        return hashlib.sha256(stored.encode()).hexdigest()[:16]

    def _decoy(self) -> str:
        """A hash to verify unknown users against. Any user's hash costs what a real check costs
        (and a match is still refused); only with no users at all is one made, once.
        """
        if self._users:
            return next(iter(self._users.values()))
        if self._decoy_hash is None:
            self._decoy_hash = self._hasher.hash(secrets.token_urlsafe(16))
        return self._decoy_hash

    def _reload_if_changed(self) -> None:
        if self._path is None:
            return
        try:
            st = self._path.stat()
        except FileNotFoundError:
            return
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp == self._stamp:
            return
        try:
            self._users = self._read(self._path)
        except (OSError, ValueError) as exc:
            if self._stamp is None:
                raise  # at startup: refuse to run rather than serve with nobody able to log in
            # A hand edit gone wrong on a running server: keep serving the last good copy.
            log.error("%s; keeping the %d users loaded before", exc, len(self._users))
        self._stamp = stamp

    @staticmethod
    def _read(path: Path) -> dict[str, str]:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ValueError(f"{path}: not a yardcam accounts file ({exc})") from exc
        users = doc.get("users") if isinstance(doc, dict) else None
        if not isinstance(users, dict) or not all(isinstance(v, str) for v in users.values()):
            raise ValueError(f"{path}: not a yardcam accounts file")
        return dict(users)

    def _save(self) -> None:
        if self._path is None:
            return
        doc = {"version": 1, "users": self._users}
        write_atomic(self._path, json.dumps(doc, indent=2, sort_keys=True).encode() + b"\n")
        st = self._path.stat()
        self._stamp = (st.st_mtime_ns, st.st_size)


def create_first_user(accounts: Accounts, username: str = "owner") -> str | None:
    """On first run (no users yet), create ``username`` with a random password and return it,
    to be shown once; None when users already exist. Nothing is ever served without a login.
    """
    if len(accounts):
        return None
    password = secrets.token_urlsafe(12)
    accounts.set_password(username, password)
    return password
