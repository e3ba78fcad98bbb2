"""Reading the TOML configuration file."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from ._fields import ConfigError


def read_toml(path: Path, *, required: bool) -> dict[str, Any] | None:
    """The file's tables, None when it does not exist and was not asked for by name."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if required:
            raise ConfigError(
                "--config",
                str(path),
                "flag --config",
                "no such file",
                "give an existing file, or leave --config out to use the data directory's",
            ) from None
        return None
    except OSError as exc:
        if required:
            raise ConfigError(
                "--config",
                str(path),
                "flag --config",
                f"cannot be read ({exc.strerror})",
                "check the path and its permissions",
            ) from exc
        # The data directory's own file, looked for without being asked: not a flag's fault.
        raise ConfigError(
            "config file",
            str(path),
            "the data directory",
            f"cannot be read ({exc.strerror})",
            "check the data directory (--data-dir) and its permissions",
        ) from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            str(path),
            "...",
            "the file itself",
            f"not valid TOML: {exc}",
            "fix that line (docs/yardcam.example.toml shows every key)",
        ) from None
