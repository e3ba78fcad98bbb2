"""The embedded archive's retention: `[retention]` for every camera, a camera's own keys over it."""

from __future__ import annotations

from pathlib import Path

from yardcam.archive import ArchiveSettings, Retention
from yardcam.config import load_cam_config

DAY = 86400.0


def test_a_camera_keeps_its_own_retention_over_the_default(tmp_path: Path) -> None:
    config = tmp_path / "yardcam.toml"
    config.write_text(
        "[retention]\nmax_age_days = 30\n"
        '[[camera]]\nname = "door"\nretention_days = 7\n'
        '[[camera]]\nname = "drive"\nretention_bytes = 1000\n'
        '[[camera]]\nname = "yard"\n'
    )
    loaded = load_cam_config({"data_dir": tmp_path}, config_file=config, environ={})
    rules = loaded.config.archive_retention()
    assert rules == {
        "*": Retention(max_age=30 * DAY),
        "door": Retention(max_age=7 * DAY),
        "drive": Retention(max_age=30 * DAY, max_bytes=1000),
    }
    settings = ArchiveSettings.for_data_dir(tmp_path, retention=rules)
    assert settings.retention_for("yard") == Retention(max_age=30 * DAY)
    assert settings.retention_for("door").max_age == 7 * DAY


def test_without_any_retention_key_frames_are_kept(tmp_path: Path) -> None:
    loaded = load_cam_config({"data_dir": tmp_path}, environ={})
    assert loaded.config.archive_retention() == {}
    assert ArchiveSettings.for_data_dir(tmp_path).retention_for("yard") == Retention()
