"""Long-lived API tokens for integrations (home automation, another yardcam), by scope.

``read`` sees status, snapshots, streams, events, config and metrics; ``control`` may also
change the config and use the ``/control`` WebSocket. Only a SHA-256 of each token is stored
(the token is 32 random bytes, so a fast hash is enough: there is nothing to brute-force), in
``DATA/cam/api-tokens.json`` (0600), re-read when it changes on disk so ``yardcam token
create|revoke`` takes effect on a running cam. The token itself is shown once, at creation.

A token's ``id`` is the start of that hash: it tells tokens apart in a list and in logs, and
says nothing about the token. When a token was last used is known to the running cam only (in
memory): writing it to the file on every request would race ``yardcam token revoke``, whose
write a stale copy could undo.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..durable import write_atomic

Scope = Literal["read", "control"]
SCOPES: tuple[Scope, ...] = ("read", "control")
PREFIX = "ycam_"  # tells an API token from a JWT at a glance (and to secret scanners)
_NAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
_lock = threading.Lock()


_ID_LENGTH = 10


@dataclass(frozen=True, slots=True)
class ApiToken:
    name: str
    scope: Scope
    created: float
    id: str
    last_used: float | None = None  # since the cam started; None: not used, or not known here


def tokens_file(data_dir: Path) -> Path:
    return data_dir / "cam" / "api-tokens.json"


def create_api_token(data_dir: Path, name: str, scope: str) -> str:
    """A new token named ``name`` with ``scope`` (``read`` or ``control``); returns it, once.

    Raises ValueError for a bad name or scope, or a name already in use (revoke it first).
    """
    if not _NAME.fullmatch(name):
        raise ValueError("token name must be 1-64 letters, digits or _.@-")
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    token = PREFIX + secrets.token_urlsafe(32)
    path = tokens_file(data_dir)
    with _lock:
        doc = _read(path)
        if any(entry["name"] == name for entry in doc.values()):
            raise ValueError(f"a token named {name!r} exists; revoke it first")
        doc[_digest(token)] = {"name": name, "scope": scope, "created": time.time()}
        _write(path, doc)
    return token


def list_api_tokens(data_dir: Path) -> list[ApiToken]:
    """Every token's name, scope and creation time (never the token), by name."""
    doc = _read(tokens_file(data_dir))
    return sorted((_token(digest, entry) for digest, entry in doc.items()), key=lambda t: t.name)


def revoke_api_token(data_dir: Path, name: str) -> None:
    """Delete the token named ``name`` (KeyError if there is none); it stops working at once."""
    path = tokens_file(data_dir)
    with _lock:
        doc = _read(path)
        gone = [digest for digest, entry in doc.items() if entry["name"] == name]
        if not gone:
            raise KeyError(name)
        for digest in gone:
            del doc[digest]
        _write(path, doc)


class ApiTokens:
    """The running app's view of the token file: checks a presented token, and remembers
    when each one was last used."""

    def __init__(self, data_dir: Path) -> None:
        self._path = tokens_file(data_dir)
        self._stamp: tuple[int, int, int] | None = None
        self._tokens: dict[str, dict[str, Any]] = {}
        self._used: dict[str, float] = {}
        self._lock = threading.Lock()

    def check(self, token: str) -> ApiToken | None:
        digest = _digest(token)
        with self._lock:
            self._reload_if_changed()
            entry = self._tokens.get(digest)
            if entry is None:
                return None
            self._used[digest] = time.time()
        return _token(digest, entry)

    def listing(self) -> list[ApiToken]:
        """Every token as :func:`list_api_tokens` has it, with ``last_used`` filled in."""
        with self._lock:
            self._reload_if_changed()
            tokens = [
                _token(digest, entry, self._used.get(digest))
                for digest, entry in self._tokens.items()
            ]
        return sorted(tokens, key=lambda t: t.name)

    def _reload_if_changed(self) -> None:
        try:
            st = self._path.stat()
        except FileNotFoundError:
            self._tokens, self._stamp = {}, None
            return
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        if stamp != self._stamp:
            self._tokens, self._stamp = _read(self._path), stamp


def _token(digest: str, entry: dict[str, Any], last_used: float | None = None) -> ApiToken:
    return ApiToken(entry["name"], entry["scope"], entry["created"], digest[:_ID_LENGTH], last_used)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _read(path: Path) -> dict[str, dict[str, Any]]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    tokens = doc.get("tokens") if isinstance(doc, dict) else None
    if not isinstance(tokens, dict):
        raise ValueError(f"{path}: not a yardcam API token file")
    return tokens


def _write(path: Path, tokens: dict[str, dict[str, Any]]) -> None:
    doc = {"version": 1, "tokens": tokens}
    write_atomic(path, json.dumps(doc, indent=2, sort_keys=True).encode() + b"\n")
