"""docs/ is run, not just read: the example configurations load and name every key, and the
systemd units start commands the CLI accepts."""

from __future__ import annotations

import dataclasses
import re
import shlex
from pathlib import Path

import pytest

from yardcam.cli import build_parser
from yardcam.config import (
    ArchiveConfig,
    CamConfig,
    CameraConfig,
    OutboxConfig,
    RetentionConfig,
    ServingConfig,
    load_archive_config,
    load_cam_config,
)

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _keys(*models: type) -> set[str]:
    nested = {"outbox", "retention", "serving", "cameras"}
    return {f.name for m in models for f in dataclasses.fields(m) if f.name not in nested}


def _written(path: Path) -> set[str]:
    """Keys set or shown commented out (``# key = value``) in a TOML file."""
    return set(re.findall(r"^#? ?([a-z_]+) = ", path.read_text(), re.M))


def test_the_cam_example_loads_and_names_every_key() -> None:
    path = DOCS / "yardcam.example.toml"
    loaded = load_cam_config({}, config_file=path, environ={})
    assert loaded.config == CamConfig(data_dir=Path("/var/lib/yardcam"))
    missing = _keys(
        CamConfig, OutboxConfig, RetentionConfig, ServingConfig, CameraConfig
    ) - _written(path)
    assert not missing, f"keys without a line in {path.name}: {missing}"


def test_the_archive_example_loads_and_names_every_key() -> None:
    path = DOCS / "archive.example.toml"
    loaded = load_archive_config({}, config_file=path, environ={})
    assert loaded.config == ArchiveConfig(data_dir=Path("/srv/yardcam"))
    missing = _keys(ArchiveConfig, RetentionConfig, ServingConfig) - _written(path)
    assert not missing, f"keys without a line in {path.name}: {missing}"


@pytest.mark.parametrize("unit", ["yardcam.service", "yardcam-archive.service"])
def test_the_systemd_units_start_valid_commands(unit: str) -> None:
    text = (DOCS / "systemd" / unit).read_text()
    command = re.search(r"^ExecStart=(\S+) (.+)$", text, re.M)
    assert command and command.group(1).endswith("/bin/yardcam")
    args = build_parser().parse_args(shlex.split(command.group(2)))
    assert args.config.name.endswith(".toml") and args.log_format == "json"
