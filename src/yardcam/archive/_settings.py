"""One archive node's settings (``yardcam.config.ArchiveConfig`` builds them from the file,
the ``YARDCAM_ARCHIVE_*`` variables and the flags)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Retention:
    """Per-cam limits; None means unlimited."""

    max_age: float | None = None  # seconds
    max_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class ArchiveSettings:
    """Configuration of one archive node.

    ``blobs``/``index`` default to ``file://<data_dir>/blobs`` and ``sqlite:///<data_dir>/index.db``
    (see :meth:`for_data_dir`); several nodes share ``s3://`` + ``postgresql://`` URLs to scale out.
    """

    data_dir: Path
    blobs: str
    index: str
    max_frame_bytes: int = 10 * 1024 * 1024
    rate_per_token: float = 50.0  # uploads/s sustained per token
    rate_burst: int = 100
    token_ttl: float = 2.0  # seconds a node trusts a checked token: revocations take this long
    retention: dict[str, Retention] = field(default_factory=dict)  # cam -> limits; "*" = default
    purge_interval: float = 300.0  # seconds between background purges; 0 disables
    orphan_sweep_interval: float = 3600.0  # seconds between orphan-blob sweeps; 0 disables
    orphan_min_age: float = 900.0  # a blob younger than this may be an upload in flight
    thumb_size: int = 240  # thumbnails are at least this tall (DCT-scaled, never upscaled)
    thumb_cache_entries: int = 512
    session_secret: str | None = None  # for the gallery's signed cookies; None: from data dir
    accounts_file: Path | None = None  # gallery users; None: <data_dir>/accounts.json
    secure_cookies: bool = True

    @classmethod
    def for_data_dir(cls, data_dir: Path | str, **overrides: Any) -> ArchiveSettings:
        """The embedded single-node default: file blobs + SQLite under ``data_dir``."""
        root = Path(data_dir).resolve()
        base = cls(
            data_dir=root,
            blobs=(root / "blobs").as_uri(),
            index=f"sqlite:///{root / 'index.db'}",
        )
        return replace(base, **overrides)

    def retention_for(self, cam: str) -> Retention:
        return self.retention.get(cam) or self.retention.get("*") or Retention()

    @property
    def accounts_path(self) -> Path:
        return self.accounts_file or self.data_dir / "accounts.json"
