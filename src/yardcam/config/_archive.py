"""An archive node's configuration (``yardcam archive serve`` and the other node commands)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from yardcam.archive import ArchiveSettings

from ._common import LogFormat, LogLevel, RetentionConfig, ServingConfig
from ._fields import (
    ConfigError,
    Layers,
    Loaded,
    at_least,
    existing_file,
    resolve,
    resolve_tables,
    setting,
    tcp_port,
)
from ._file import read_toml

CONFIG_FILE = "archive.toml"
_ENV_PREFIX = "YARDCAM_ARCHIVE_"
_TABLES = {"retention": RetentionConfig, "serving": ServingConfig}


def _storage_url(schemes: tuple[str, ...], example: str) -> Any:
    def check(value: Any) -> tuple[str, str] | None:
        if value is not None and not value.startswith(tuple(s + "://" for s in schemes)):
            names = ", ".join(s + "://" for s in schemes)
            return f"not a {names} URL", f"give a URL such as {example}"
        return None

    return check


@dataclass(frozen=True, slots=True)
class ArchiveConfig:
    """Everything an archive node is configured with (see ``docs/archive.example.toml``)."""

    data_dir: Path = setting(
        Path("yardcam-archive"), help="embedded storage root, accounts, secrets"
    )
    host: str = setting("127.0.0.1", help="address to serve on")
    port: int = setting(8750, help="port to serve on", check=tcp_port)
    tls_cert: Path | None = setting(
        None,
        help="PEM certificate chain (enables HTTPS)",
        check=existing_file,
        example="/etc/yardcam/cert.pem",
    )
    tls_key: Path | None = setting(
        None, help="its PEM private key", check=existing_file, example="/etc/yardcam/key.pem"
    )
    blobs: str | None = setting(
        None,
        help="blob store URL (none: file:// under data_dir); S3 keys in it are masked",
        check=_storage_url(("file", "s3"), "s3://frames?endpoint=http://127.0.0.1:8333"),
        example="s3://frames?endpoint=http://127.0.0.1:8333",
    )
    index: str | None = setting(
        None,
        help="index URL (none: sqlite:// under data_dir); its password is masked",
        check=_storage_url(("sqlite", "postgresql", "postgres"), "postgresql://archive@db/yardcam"),
        example="postgresql://archive@db/yardcam",
    )
    max_frame_bytes: int = setting(
        10 * 1024 * 1024, help="largest frame accepted", check=at_least(1024)
    )
    rate_per_token: float = setting(50.0, help="uploads/s sustained per token", check=at_least(0.1))
    rate_burst: int = setting(100, help="uploads a token may send at once", check=at_least(1))
    token_ttl: float = setting(
        2.0, help="seconds a node trusts a checked token (revocation delay)", check=at_least(0)
    )
    purge_interval: float = setting(
        300.0, help="seconds between retention purges (0: never)", check=at_least(0)
    )
    orphan_sweep_interval: float = setting(
        3600.0,
        help="seconds between sweeps for blobs never indexed (a node killed mid-upload); 0: never",
        check=at_least(0),
    )
    orphan_min_age: float = setting(
        900.0,
        help="seconds before a blob with no index row counts as an orphan (an upload in flight "
        "is younger)",
        check=at_least(60),
    )
    log_format: LogFormat = setting("text", help="text (people) or json (journald, Loki)")
    log_level: LogLevel = setting("info", help="debug, info, warning or error")
    retention: RetentionConfig = setting(help="[retention] table", factory=RetentionConfig)
    serving: ServingConfig = setting(help="[serving] table", factory=ServingConfig)

    def settings(self) -> ArchiveSettings:
        """The archive service's own settings for this configuration."""
        overrides: dict[str, Any] = {
            "max_frame_bytes": self.max_frame_bytes,
            "rate_per_token": self.rate_per_token,
            "rate_burst": self.rate_burst,
            "token_ttl": self.token_ttl,
            "purge_interval": self.purge_interval,
            "orphan_sweep_interval": self.orphan_sweep_interval,
            "orphan_min_age": self.orphan_min_age,
        }
        if (limits := self.retention.limits()) is not None:
            overrides["retention"] = {"*": limits}
        settings = ArchiveSettings.for_data_dir(self.data_dir, **overrides)
        if self.blobs is not None:
            settings = replace(settings, blobs=self.blobs)
        if self.index is not None:
            settings = replace(settings, index=self.index)
        return settings


def load_archive_config(
    flags: Mapping[str, Any],
    *,
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Loaded:
    """An archive node's configuration: file < ``YARDCAM_ARCHIVE_*`` < ``flags``.

    The default file is ``DATA/archive.toml``; retention flags go under ``"retention"``.
    """
    env = dict(os.environ if environ is None else environ)
    data_dir = flags.get("data_dir") or env.get(_ENV_PREFIX + "DATA_DIR") or "yardcam-archive"
    path = config_file or Path(data_dir) / CONFIG_FILE
    doc = read_toml(path, required=config_file is not None)
    found = doc is not None
    doc = doc or {}
    file_name = f"file {path}"
    top_flags = {k: v for k, v in flags.items() if k not in _TABLES}
    values, sources = resolve(
        ArchiveConfig,
        Layers(file=doc, file_name=file_name, env=env, env_prefix=_ENV_PREFIX, flags=top_flags),
        skip=frozenset(_TABLES),
    )
    values["data_dir"] = Path(values["data_dir"]).resolve()
    tables, table_sources = resolve_tables(_TABLES, doc, file_name, env, _ENV_PREFIX, flags)
    values.update(tables)
    sources.update(table_sources)
    config = ArchiveConfig(**values)
    if (config.tls_cert is None) != (config.tls_key is None):
        key = "tls_key" if config.tls_key is None else "tls_cert"
        raise ConfigError(
            key, None, sources[key], "tls_cert and tls_key go together", "set both, or neither"
        )
    return Loaded(config, sources, path, found, order="default < file < env < flag")
