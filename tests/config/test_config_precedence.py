"""Which layer wins: default < file < YARDCAM_* env < saved dashboard state < flag."""

from __future__ import annotations

import json
from pathlib import Path

from yardcam.config import load_archive_config, load_cam_config


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_file_then_env_then_flag(tmp_path: Path) -> None:
    config = _write(
        tmp_path / "yardcam.toml",
        'port = 1001\narchive_port = 1002\nhost = "0.0.0.0"\n'
        "[outbox]\nmax_entries = 50\nconcurrency = 2\n",
    )
    env = {
        "YARDCAM_PORT": "2001",
        "YARDCAM_ARCHIVE_PORT": "2002",
        "YARDCAM_OUTBOX_CONCURRENCY": "3",
    }
    loaded = load_cam_config({"data_dir": tmp_path, "port": 3001}, config_file=config, environ=env)
    c, src = loaded.config, loaded.sources
    assert (c.port, src["port"]) == (3001, "flag --port")
    assert (c.archive_port, src["archive_port"]) == (2002, "env YARDCAM_ARCHIVE_PORT")
    assert (c.host, src["host"]) == ("0.0.0.0", f"file {config}")
    assert (c.outbox.max_entries, src["outbox.max_entries"]) == (50, f"file {config}")
    assert (c.outbox.concurrency, src["outbox.concurrency"]) == (
        3,
        "env YARDCAM_OUTBOX_CONCURRENCY",
    )
    assert (c.stop_timeout, src["stop_timeout"]) == (10.0, "default")


def test_the_default_file_is_in_the_data_dir(tmp_path: Path) -> None:
    _write(tmp_path / "yardcam.toml", 'log_format = "json"\n')
    loaded = load_cam_config({}, environ={"YARDCAM_DATA_DIR": str(tmp_path)})
    assert loaded.config.log_format == "json"
    assert loaded.config.data_dir == tmp_path.resolve()
    assert loaded.sources["data_dir"] == "env YARDCAM_DATA_DIR"


def test_cameras_from_tables_and_flags_set_the_first(tmp_path: Path) -> None:
    config = _write(
        tmp_path / "c.toml",
        '[[camera]]\nname = "front"\nsource = "synthetic:seed=1"\nthreshold = 20\n'
        'zones = ["rect:0,0,100,100"]\n'
        '[[camera]]\nname = "back"\nsource = "synthetic:seed=2"\ncooldown = 2.5\n',
    )
    loaded = load_cam_config(
        {"data_dir": tmp_path, "camera": {"threshold": 30.0}},
        config_file=config,
        environ={"YARDCAM_CAMERA_FPS": "5"},
    )
    front, back = loaded.config.cameras
    assert (front.name, front.threshold, front.fps) == ("front", 30.0, 5.0)
    assert front.zones == ("rect:0,0,100,100",)
    assert loaded.sources["camera[0].threshold"] == "flag --threshold"
    assert loaded.sources["camera[0].fps"] == "env YARDCAM_CAMERA_FPS"
    # Environment variables and flags are for the first camera only.
    assert (back.name, back.threshold, back.fps, back.cooldown) == ("back", 12.0, 10.0, 2.5)


def test_dashboard_state_beats_every_other_layer(tmp_path: Path) -> None:
    config = _write(tmp_path / "c.toml", '[[camera]]\nname = "front"\nthreshold = 20\n')
    (tmp_path / "state.json").write_text(json.dumps({"cameras": {"front": {"threshold": 33}}}))
    env = {"YARDCAM_CAMERA_THRESHOLD": "25"}
    loaded = load_cam_config(
        {"data_dir": tmp_path, "camera": {"threshold": 40.0}}, config_file=config, environ=env
    )
    # The newest thing the user said: what the dashboard saved (config show names it).
    assert loaded.config.cameras[0].threshold == 33.0
    assert loaded.sources["camera[0].threshold"] == "state"
    other = load_cam_config(
        {"data_dir": tmp_path, "camera": {"name": "back"}}, config_file=None, environ=env
    )
    assert other.config.cameras[0].threshold == 25.0  # saved for "front", not for "back"


def test_a_damaged_state_file_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text("{not json")
    loaded = load_cam_config({"data_dir": tmp_path}, environ={})
    assert loaded.sources["camera[0].threshold"] == "default"


def test_archive_node_file_env_flag(tmp_path: Path) -> None:
    config = _write(
        tmp_path / "archive.toml",
        'port = 9000\nindex = "postgresql://archive@db/yc"\n[retention]\nmax_age_days = 30\n',
    )
    env = {"YARDCAM_ARCHIVE_PORT": "9001", "YARDCAM_ARCHIVE_RETENTION_MAX_AGE_DAYS": "7"}
    loaded = load_archive_config(
        {"data_dir": tmp_path, "retention": {"max_age_days": 2.0}}, config_file=config, environ=env
    )
    c = loaded.config
    assert (c.port, loaded.sources["port"]) == (9001, "env YARDCAM_ARCHIVE_PORT")
    assert c.index == "postgresql://archive@db/yc"
    settings = c.settings()
    assert settings.index == "postgresql://archive@db/yc"
    assert settings.blobs == (tmp_path / "blobs").resolve().as_uri()
    assert settings.retention_for("any").max_age == 2 * 86400


def test_serving_limits_from_file_and_env_for_both_apps(tmp_path: Path) -> None:
    # The connection limits a user tunes (with LimitNOFILE) live in [serving], for both apps.
    cam_file = _write(tmp_path / "yardcam.toml", "[serving]\nhead_timeout = 4.0\n")
    env = {"YARDCAM_SERVING_MAX_CONNECTIONS": "200"}
    cam = load_cam_config({"data_dir": tmp_path}, config_file=cam_file, environ=env)
    limits = cam.config.serving.limits()
    assert (limits.head_timeout, limits.max_connections) == (4.0, 200)
    assert cam.sources["serving.max_connections"] == "env YARDCAM_SERVING_MAX_CONNECTIONS"
    node_file = _write(
        tmp_path / "archive.toml", "orphan_min_age = 120\n[serving]\nfd_reserve = 99\n"
    )
    node = load_archive_config(
        {"data_dir": tmp_path},
        config_file=node_file,
        environ={"YARDCAM_ARCHIVE_SERVING_KEEP_ALIVE": "9"},
    )
    assert node.config.serving.limits().fd_reserve == 99
    assert node.config.serving.keep_alive == 9
    assert node.config.settings().orphan_min_age == 120.0
