"""Configuration: one typed model for the cam (``yardcam run``), one for an archive node.

Each key has one value, taken from the highest layer that sets it::

    default < TOML file (--config, default DATA/yardcam.toml or DATA/archive.toml)
            < YARDCAM_* environment (YARDCAM_ARCHIVE_* for a node) < flag < saved dashboard state

Values are checked when loaded; a bad one is a :class:`ConfigError` that names the key, the
value, its source and the fix. :func:`render` prints the result with each key's source and
secrets masked (``yardcam config show``).

>>> loaded = load_cam_config({"data_dir": "/tmp/yc"}, environ={"YARDCAM_PORT": "9443"})
>>> loaded.config.port, loaded.sources["port"]
(9443, 'env YARDCAM_PORT')
"""

from ._archive import ArchiveConfig, load_archive_config
from ._cam import CamConfig, CameraConfig, OutboxConfig, default_data_dir, load_cam_config
from ._common import LOG_LEVELS, RetentionConfig, ServingConfig
from ._fields import ConfigError, Loaded
from ._redact import redact_text, redact_url
from ._show import render

__all__ = [
    "LOG_LEVELS",
    "ArchiveConfig",
    "CamConfig",
    "CameraConfig",
    "ConfigError",
    "Loaded",
    "OutboxConfig",
    "RetentionConfig",
    "ServingConfig",
    "default_data_dir",
    "load_archive_config",
    "load_cam_config",
    "redact_text",
    "redact_url",
    "render",
]
