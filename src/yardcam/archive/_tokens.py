"""API tokens: random secrets shown once, stored only as sha256, scoped and optionally cam-bound.

A token is ``yc_<id>_<secret>``: the id names it in ``token list``/``revoke`` without revealing
it. A plain sha256 is enough (no slow hash) because the secret has 256 bits of entropy.
A token may carry an expiry (``token create --expires 30d``); past it, it is refused with 401
and a reason, checked on every request (the verifier's cache never extends it).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from datetime import UTC, datetime

from ..names import is_valid_cam
from ._errors import ApiError
from ._settings import ArchiveSettings
from ._timestamps import parse_timestamp
from .storage import FrameIndex, TokenRecord, open_frame_index

SCOPES = ("upload", "read", "admin")
# What each scope may do: admin implies read and upload.
_GRANTS = {"upload": {"upload"}, "read": {"read"}, "admin": {"upload", "read", "admin"}}


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}
_LIFETIME = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")


def parse_expiry(text: str, *, now: float | None = None) -> float:
    """When a token given ``--expires TEXT`` stops working, in epoch seconds: a lifetime
    (``90m``, ``12h``, ``30d``, ``8w``) or an instant (epoch seconds or ISO 8601). ValueError,
    saying what is accepted, for anything else or for a time already past."""
    now = time.time() if now is None else now
    lifetime = _LIFETIME.fullmatch(text.strip())
    try:
        when = now + float(lifetime[1]) * _UNITS[lifetime[2]] if lifetime else parse_timestamp(text)
    except ValueError:
        raise ValueError(
            f"expected a lifetime (90m, 12h, 30d, 8w) or an instant (epoch seconds or "
            f"ISO 8601), got {text!r}"
        ) from None
    if when <= now:
        raise ValueError(f"{text!r} is not in the future")
    return when


async def issue_token(
    index: FrameIndex, cam: str | None, scope: str = "upload", *, expires: float | None = None
) -> tuple[str, TokenRecord]:
    """Store a new token's hash; returns (the secret, to show once; its record).

    ``expires``: epoch seconds after which the token is refused (see :func:`parse_expiry`).
    """
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
    if cam is None and scope == "upload":
        raise ValueError(
            "an upload token needs a cam: --cam NAME (a token for every cam: --scope read or admin)"
        )
    if cam is not None and not is_valid_cam(cam):
        raise ValueError("cam names are 1-64 letters, digits, '_' or '-'")
    token_id = secrets.token_hex(6)
    secret = f"yc_{token_id}_{secrets.token_urlsafe(32)}"
    record = TokenRecord(token_id, hash_token(secret), cam, scope, time.time(), expires=expires)
    await index.add_token(record)
    return secret, record


async def create_token(settings: ArchiveSettings, cam: str | None, scope: str = "upload") -> str:
    """Open the settings' index, store a new token, return its secret (for ``yardcam run``)."""
    index = await open_frame_index(settings.index)
    try:
        secret, _ = await issue_token(index, cam, scope)
    finally:
        await index.close()
    return secret


class TokenVerifier:
    """Checks bearer tokens against the index, remembering valid ones for ``ttl`` seconds.

    The cache saves an index round trip per upload (a busy cam sends several a second); the
    price is that a revocation reaches every node within ``ttl`` rather than at once. Unknown
    tokens are never cached, so a new token works immediately.
    """

    def __init__(self, ttl: float, *, max_entries: int = 10_000) -> None:
        self._ttl = ttl
        self._max_entries = max_entries
        self._cache: dict[str, tuple[TokenRecord, float]] = {}

    async def _lookup(self, index: FrameIndex, token_hash: str) -> TokenRecord | None:
        now = time.monotonic()
        cached = self._cache.get(token_hash)
        if cached is not None and cached[1] > now:
            return cached[0]
        record = await index.token_by_hash(token_hash)
        if record is not None and not record.revoked and self._ttl > 0:
            if len(self._cache) >= self._max_entries:
                self._cache.clear()
            self._cache[token_hash] = (record, now + self._ttl)
        return record

    async def authenticate(
        self, index: FrameIndex, authorization: str | None, need: str
    ) -> TokenRecord:
        """The token behind an ``Authorization: Bearer`` header, if it grants ``need``.

        401 when missing/unknown/revoked/expired, 403 when valid but lacking the scope.
        """
        if not authorization:
            raise ApiError(401, "missing bearer token")
        kind, _, token = authorization.partition(" ")
        if kind.lower() != "bearer" or not token.strip():
            raise ApiError(401, "authorization must be 'Bearer <token>'")
        record = await self._lookup(index, hash_token(token.strip()))
        if record is None or record.revoked:
            raise ApiError(401, "unknown or revoked token")
        if record.expires is not None and record.expires <= time.time():
            when = datetime.fromtimestamp(record.expires, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            raise ApiError(
                401, f"token {record.id} expired at {when}; ask for a new one (token create)"
            )
        if need not in _GRANTS.get(record.scope, set()):
            raise ApiError(403, f"token scope {record.scope!r} does not allow {need}")
        return record


def check_cam_access(token: TokenRecord, cam: str) -> None:
    """A cam-bound token may only touch its own cam."""
    if token.cam is not None and token.cam != cam:
        raise ApiError(403, f"token is not valid for cam {cam!r}")
