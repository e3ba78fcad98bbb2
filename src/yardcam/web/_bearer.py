"""Credentials for scripts: short-lived JWTs from ``POST /api/login``, and HTTP Basic.

A JWT is signed with a secret generated on first use in a file (0600). The file is checked on
every verification: deleting it (or writing a new secret) revokes every token ever issued, on a
running server too. Tokens carry the user's session tag (see ``Accounts.session_tag``), so a
password change also ends the tokens issued before it.
"""

from __future__ import annotations

import base64
import binascii
import threading
import time
from pathlib import Path

import jwt

from ._secret_key import ensure_secret_key

JWT_LIFETIME = 3600
_ALGORITHM = "HS256"


class JwtSigner:
    """Issues and checks the one-hour tokens of one app."""

    def __init__(self, secret_file: Path, *, lifetime: int = JWT_LIFETIME) -> None:
        self.secret_file = secret_file
        self.lifetime = lifetime
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._secret = ""

    def issue(self, user: str, tag: str | None) -> str:
        now = int(time.time())
        claims = {"sub": user, "tag": tag, "iat": now, "exp": now + self.lifetime}
        return jwt.encode(claims, self._current_secret(), algorithm=_ALGORITHM)

    def verify(self, token: str) -> tuple[str, str | None] | None:
        """``(user, tag)`` of a valid, unexpired token; None for anything else."""
        try:
            claims = jwt.decode(
                token,
                self._current_secret(),
                algorithms=[_ALGORITHM],
                options={"require": ["sub", "exp", "iat"]},
            )
        except jwt.PyJWTError:
            return None
        user, tag = claims.get("sub"), claims.get("tag")
        if not isinstance(user, str) or not (tag is None or isinstance(tag, str)):
            return None
        return user, tag

    def _current_secret(self) -> str:
        with self._lock:
            try:
                st = self.secret_file.stat()
                stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_ino)
            except FileNotFoundError:
                stamp = None
            if stamp is None or stamp != self._stamp:
                self._secret = ensure_secret_key(self.secret_file)
                st = self.secret_file.stat()
                self._stamp = (st.st_mtime_ns, st.st_ino)
            return self._secret


def parse_basic(header: str) -> tuple[str, str] | None:
    """``(user, password)`` from an ``Authorization: Basic ...`` value; None if malformed.

    >>> parse_basic("Basic b3duZXI6cyNjcmV0")
    ('owner', 's#cret')
    """
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon else None
