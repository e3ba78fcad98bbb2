"""``yardcam config show`` / ``yardcam archive config show``: every key, its source, no secret."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from yardcam.cli import build_parser, main
from yardcam.cli._archive import config_from_args


def _show(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def test_cam_config_show(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "yardcam.toml").write_text(
        'archive_url = "https://cam:pa55word@archive.example/frames"\n'
        f'token_file = "{tmp_path / "yardcam.toml"}"\n'
        '[[camera]]\nname = "door"\nsource = "rtsp://admin:hunter2@10.0.0.9/stream"\n'
    )
    monkeypatch.setenv("YARDCAM_LOG_FORMAT", "json")
    out = _show(capsys, "config", "show", "--data-dir", str(tmp_path), "--port", "9443")
    assert "pa55word" not in out and "hunter2" not in out
    assert 'source = "rtsp://admin:***@10.0.0.9/stream"' in out
    assert "port = 9443" in out and "# flag --port" in out
    assert "# env YARDCAM_LOG_FORMAT" in out and f"# file {tmp_path / 'yardcam.toml'}" in out
    # The output is a configuration file itself (secrets masked).
    doc = tomllib.loads(out)
    assert doc["camera"][0]["name"] == "door" and doc["outbox"]["concurrency"] == 4


def test_archive_config_show_masks_storage_credentials(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "YARDCAM_ARCHIVE_BLOBS",
        "s3://frames?endpoint=http://127.0.0.1:8333&access_key=AKIAEXAMPLE&secret_key=wJalrXUtnFEMI",
    )
    out = _show(
        capsys,
        "archive",
        "config",
        "show",
        "--data-dir",
        str(tmp_path),
        "--index",
        "postgresql://archive:s3cret@db:5432/yc",
    )
    assert "wJalrXUtnFEMI" not in out and "AKIAEXAMPLE" not in out and "s3cret" not in out
    assert "access_key=***&secret_key=***" in out and "endpoint=http://127.0.0.1:8333" in out
    assert 'index = "postgresql://archive:***@db:5432/yc"' in out and "# flag --index" in out
    assert "# env YARDCAM_ARCHIVE_BLOBS" in out


def test_a_bad_value_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "show", "--data-dir", str(tmp_path), "--threshold", "101"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("yardcam config show: configuration: camera[0].threshold = 101.0")
    assert "Traceback" not in err


def test_the_log_level_is_a_flag_of_run_and_archive_serve(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _show(capsys, "config", "show", "--data-dir", str(tmp_path), "--log-level", "debug")
    assert 'log_level = "debug"' in out and "# flag --log-level" in out
    args = build_parser().parse_args(["archive", "serve", "--log-level", "warning"])
    assert config_from_args(args).log_level == "warning"
    with pytest.raises(SystemExit):  # argparse names the choices
        build_parser().parse_args(["run", "--log-level", "loud"])
    assert "invalid choice: 'loud'" in capsys.readouterr().err
