"""The cam's configuration (``yardcam run``): the box, its outbox and its ``[[camera]]`` tables."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from yardcam.archive import Retention
from yardcam.dashboard import load_camera_state
from yardcam.motion import parse_zone
from yardcam.names import is_valid_cam

from ._common import LogFormat, LogLevel, RetentionConfig, ServingConfig
from ._fields import (
    ConfigError,
    Layers,
    Loaded,
    all_of,
    at_least,
    existing_file,
    resolve,
    resolve_tables,
    setting,
    tcp_port,
    within,
)
from ._file import read_toml

CONFIG_FILE = "yardcam.toml"


def default_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$YARDCAM_DATA_DIR``, else ``$XDG_DATA_HOME/yardcam`` (``~/.local/share/yardcam``)."""
    env = os.environ if environ is None else environ
    if env.get("YARDCAM_DATA_DIR"):
        return Path(env["YARDCAM_DATA_DIR"]).expanduser()
    base = env.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "yardcam"


def _cam_name(value: Any) -> tuple[str, str] | None:
    if not is_valid_cam(value):
        return "not a valid camera name", "use 1-64 letters, digits, '_' or '-', e.g. \"backyard\""
    return None


def _zones(value: Any) -> tuple[str, str] | None:
    for spec in value:
        try:
            parse_zone(spec)
        except ValueError:
            return (
                f"{spec!r} is not a zone",
                'write "rect:X,Y,W,H" or "poly:X1,Y1,X2,Y2,X3,Y3,..." in frame pixels',
            )
    return None


def _http_url(value: Any) -> tuple[str, str] | None:
    if value is not None and not value.startswith(("https://", "http://")):
        return (
            "not an http(s) URL",
            "give the archive's POST /frames URL, e.g. https://archive.example.net/frames",
        )
    return None


def _origins(value: Any) -> tuple[str, str] | None:
    for origin in value:
        if origin == "*" or "://" not in origin or origin.rstrip("/").count("/") > 2:
            return (
                f"{origin!r} is not an origin",
                'list origins as scheme://host[:port], e.g. "https://panel.example.net"',
            )
    return None


@dataclass(frozen=True, slots=True)
class CameraConfig:
    """One ``[[camera]]`` table: a frame source and how motion is detected on it."""

    name: str = setting(
        "yard", help="its name in the archive and the dashboard", check=_cam_name, flag="--cam"
    )
    source: str = setting(
        "synthetic", help="synthetic[:seed=N], dir:PATH, http(s)://MJPEG, device:N, rtsp://..."
    )
    source_token_file: Path | None = setting(
        None,
        help="for an http(s) source: a read token sent as a bearer (another yardcam's stream)",
        check=existing_file,
        example="/etc/yardcam/front-cam-token",
    )
    source_ca_bundle: Path | None = setting(
        None,
        help="for an https source: the CA (or self-signed certificate) to verify it with",
        check=existing_file,
        example="/etc/yardcam/front-cam-cert.pem",
    )
    fps: float = setting(
        10.0, help="frames per second to take from the source", check=within(0.1, 120)
    )
    threshold: float = setting(
        12.0,
        help="motion threshold, 0..100 (change: the share of the busiest sixth of the picture "
        "holding something new and moving; see the README)",
        check=within(0, 100),
    )
    zones: tuple[str, ...] = setting(
        help="where to look (everywhere if empty): rect:X,Y,W,H or poly:X1,Y1,...",
        check=_zones,
        factory=tuple,
        example=("rect:0,200,1280,520",),
    )
    masks: tuple[str, ...] = setting(
        help="where never to look, same syntax",
        check=_zones,
        factory=tuple,
        example=("rect:0,0,1280,60",),
    )
    cooldown: float = setting(0.0, help="seconds to stay quiet after a trigger", check=at_least(0))
    min_frames: int = setting(  # the detector's own default (yardcam.motion.MotionDetector)
        2, help="consecutive frames in motion before firing", check=at_least(1)
    )
    gap: float = setting(
        3.0, help="seconds of stillness that end a motion event", check=at_least(0)
    )
    archive_per_second: float = setting(
        1.0,
        help="frames archived per second in the middle of an event (the first and the best "
        "frame always are; 0: only those)",
        check=at_least(0),
    )
    archive_every_frame: bool = setting(
        False, help="archive every triggered frame instead (yardcam before events)"
    )
    retention_days: float | None = setting(
        None,
        help="the embedded archive keeps this camera's frames this long ([retention] if unset)",
        check=at_least(0.001),
        example=7.0,
    )
    retention_bytes: int | None = setting(
        None,
        help="bytes the embedded archive keeps of this camera ([retention] if unset)",
        check=at_least(1),
        example=10_000_000_000,
    )


@dataclass(frozen=True, slots=True)
class OutboxConfig:
    """``[outbox]``: the on-disk queue of triggered frames and the uploads that empty it."""

    max_entries: int = setting(
        10_000, help="frames kept at most while the archive is away", check=at_least(1)
    )
    max_bytes: int | None = setting(
        None,
        help="bytes kept at most (unset: half the space the outbox could use when it starts)",
        check=at_least(1),
        example=2_000_000_000,
    )
    keep_free: int | None = setting(
        None,
        help="bytes always left free on the outbox's filesystem, evicting the oldest frames "
        "first (unset: 5 % of the filesystem, at most 256 MiB)",
        check=at_least(0),
        example=1_000_000_000,
    )
    policy: Literal["evict-oldest", "reject-new"] = setting(
        "evict-oldest", help="when full: drop the oldest frames, or refuse new ones"
    )
    concurrency: int = setting(
        4, help="uploads in flight, shared by every camera", check=within(1, 64)
    )
    retry_interval: float = setting(
        10.0, help="seconds between looks at deferred frames", check=at_least(0.1)
    )


@dataclass(frozen=True, slots=True)
class CamConfig:
    """Everything ``yardcam run`` is configured with (see ``docs/yardcam.example.toml``)."""

    data_dir: Path = setting(
        help="outbox, embedded archive, logins, TLS certificate", example="/var/lib/yardcam"
    )
    host: str = setting("127.0.0.1", help="address to serve on (0.0.0.0: the whole LAN)")
    port: int = setting(8443, help="the dashboard's HTTPS port", check=tcp_port)
    archive_port: int = setting(
        8444, help="the embedded archive's port (unused with archive_url)", check=tcp_port
    )
    archive_url: str | None = setting(
        None,
        help="an external archive's POST /frames URL",
        check=_http_url,
        example="https://archive.example.net/frames",
    )
    token_file: Path | None = setting(
        None,
        help="that archive's upload token (re-read when rotated)",
        check=existing_file,
        example="/etc/yardcam/archive-token",
    )
    ca_bundle: Path | None = setting(
        None,
        help="CA bundle to verify that archive (none: system CAs)",
        check=existing_file,
        example="/etc/yardcam/archive-ca.pem",
    )
    tls_cert: Path | None = setting(
        None,
        help="the dashboard's certificate (none: self-signed in the data dir)",
        check=existing_file,
        example="/etc/yardcam/cert.pem",
    )
    tls_key: Path | None = setting(
        None, help="its private key", check=existing_file, example="/etc/yardcam/key.pem"
    )
    cors_origins: tuple[str, ...] = setting(
        help="web pages elsewhere allowed to call the API",
        check=_origins,
        factory=tuple,
        flag="--cors-origin",
        example=("https://panel.example.net",),
    )
    log_format: LogFormat = setting("text", help="text (people) or json (journald, Loki)")
    log_level: LogLevel = setting("info", help="debug, info, warning or error")
    stop_timeout: float = setting(
        10.0,
        help="seconds a clean stop may take before uploads are cut",
        check=all_of(at_least(1), within(1, 600)),
    )
    outbox: OutboxConfig = setting(help="[outbox] table", factory=OutboxConfig)
    retention: RetentionConfig = setting(help="[retention] table", factory=RetentionConfig)
    serving: ServingConfig = setting(help="[serving] table", factory=ServingConfig)
    cameras: tuple[CameraConfig, ...] = setting(
        help="[[camera]] tables", factory=lambda: (CameraConfig(),)
    )

    def archive_retention(self) -> dict[str, Retention]:
        """The embedded archive's retention: ``[retention]`` for every camera ("*"), and a
        camera's own ``retention_days``/``retention_bytes`` over it for that camera."""
        rules = {}
        if (default := self.retention.limits()) is not None:
            rules["*"] = default
        for camera in self.cameras:
            days, size = camera.retention_days, camera.retention_bytes
            if days is None and size is None:
                continue
            own = RetentionConfig(
                max_age_days=self.retention.max_age_days if days is None else days,
                max_bytes=self.retention.max_bytes if size is None else size,
            )
            rules[camera.name] = own.limits() or Retention()
        return rules


_TABLES = {"outbox": OutboxConfig, "retention": RetentionConfig, "serving": ServingConfig}
_SECTIONS = frozenset({*_TABLES, "camera", "cameras"})


def load_cam_config(
    flags: Mapping[str, Any],
    *,
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Loaded:
    """The cam's configuration: file < ``YARDCAM_*`` < ``flags`` < saved dashboard state.

    ``flags`` holds the command line's values by field name (None: not given), with camera
    settings under ``"camera"`` (they apply to the first camera) and outbox ones under
    ``"outbox"``. Raises :class:`ConfigError`.
    """
    env = dict(os.environ if environ is None else environ)
    flag_data_dir = flags.get("data_dir")
    data_dir = Path(flag_data_dir) if flag_data_dir is not None else default_data_dir(env)
    path = config_file or data_dir / CONFIG_FILE
    doc = read_toml(path, required=config_file is not None)
    found = doc is not None
    doc = doc or {}
    file_name = f"file {path}"
    top_flags = {k: v for k, v in flags.items() if k not in _SECTIONS}
    values, sources = resolve(
        CamConfig,
        Layers(
            file=doc,
            file_name=file_name,
            env=env,
            flags=top_flags,
            defaults={"data_dir": default_data_dir({**env, "YARDCAM_DATA_DIR": ""})},
        ),
        skip=_SECTIONS,
    )
    values["data_dir"] = Path(values["data_dir"]).resolve()
    tables, table_sources = resolve_tables(_TABLES, doc, file_name, env, "YARDCAM_", flags)
    values.update(tables)
    sources.update(table_sources)
    cameras, camera_sources = _cameras(doc, file_name, env, flags, values["data_dir"])
    values["cameras"] = cameras
    sources.update(camera_sources)
    config = CamConfig(**values)
    _check_together(config, sources)
    return Loaded(config, sources, path, found)


def _cameras(
    doc: Mapping[str, Any],
    file_name: str,
    env: Mapping[str, str],
    flags: Mapping[str, Any],
    data_dir: Path,
) -> tuple[tuple[CameraConfig, ...], dict[str, str]]:
    if "cameras" in doc:
        raise ConfigError("cameras", "...", file_name, "unknown key", "write [[camera]] tables")
    tables = doc.get("camera", [{}])
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        raise ConfigError(
            "camera",
            tables,
            file_name,
            "must be one or more tables",
            'write each camera as a [[camera]] table with name = "..." and source = "..."',
        )
    cameras: list[CameraConfig] = []
    sources: dict[str, str] = {}
    for i, table in enumerate(tables):
        first = i == 0
        layers = Layers(
            file=table,
            file_name=file_name,
            # Environment variables and flags configure the first camera (the only one
            # when there are no [[camera]] tables).
            env=env if first else {},
            env_prefix="YARDCAM_CAMERA_",
            flags=(flags.get("camera") or {}) if first else {},
        )
        key_prefix = f"camera[{i}]."
        values, camera_sources = resolve(CameraConfig, layers, key_prefix=key_prefix)
        saved = load_camera_state(data_dir, values["name"])
        if "threshold" in saved:  # what the dashboard saved (only the threshold, today)
            layers = dataclasses.replace(layers, state={"threshold": saved["threshold"]})
            values, camera_sources = resolve(CameraConfig, layers, key_prefix=key_prefix)
        camera = CameraConfig(**values)
        for name in ("source_token_file", "source_ca_bundle"):
            if getattr(camera, name) is not None and not camera.source.startswith("http"):
                raise ConfigError(
                    f"{key_prefix}{name}",
                    str(getattr(camera, name)),
                    camera_sources[key_prefix + name],
                    "only an http(s) source uses it",
                    "remove it, or set source to the stream's https:// URL",
                )
        cameras.append(camera)
        sources.update(camera_sources)
    names = [c.name for c in cameras]
    for i, name in enumerate(names):
        if names.index(name) != i:
            raise ConfigError(
                f"camera[{i}].name",
                name,
                sources[f"camera[{i}].name"],
                f"camera[{names.index(name)}] has that name already",
                "give every [[camera]] its own name",
            )
    return tuple(cameras), sources


def _check_together(config: CamConfig, sources: Mapping[str, str]) -> None:
    """Rules that tie several keys together."""
    if config.archive_url is not None and config.token_file is None:
        raise ConfigError(
            "token_file",
            None,
            sources["token_file"],
            "archive_url needs an upload token",
            "set token_file (flag --token-file) to the file holding the archive's token",
        )
    if (config.tls_cert is None) != (config.tls_key is None):
        key = "tls_key" if config.tls_key is None else "tls_cert"
        raise ConfigError(
            key, None, sources[key], "tls_cert and tls_key go together", "set both, or neither"
        )
