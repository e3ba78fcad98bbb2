"""Every validation error names the key, the bad value, where it came from, and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from yardcam.config import ConfigError, load_archive_config, load_cam_config


def _cam_error(tmp_path: Path, toml: str = "", env: dict[str, str] | None = None, **flags) -> str:
    config = tmp_path / "yardcam.toml"
    config.write_text(toml)
    with pytest.raises(ConfigError) as caught:
        load_cam_config({"data_dir": tmp_path, **flags}, config_file=config, environ=env or {})
    return str(caught.value)


@pytest.mark.parametrize(
    ("toml", "env", "expected"),
    [
        (
            'port = "eighty"\n',
            {},
            'port = "eighty" ('
            "from file {file}): expected a whole number; "
            "fix: write a whole number e.g. 8443",
        ),
        (
            "",
            {"YARDCAM_PORT": "99999"},
            "port = 99999 (from env YARDCAM_PORT): not a TCP port; "
            "fix: use a port from 1 to 65535 (0: any free port)",
        ),
        (
            "prot = 1\n",
            {},
            "prot = 1 (from file {file}): unknown key; fix: did you mean 'port'?",
        ),
        (
            'log_format = "xml"\n',
            {},
            'log_format = "xml" (from file {file}): '
            "not a known choice; fix: use 'text' or 'json'",
        ),
        (
            "[outbox]\nconcurrency = 0\n",
            {},
            "outbox.concurrency = 0 (from file {file}): must be within 1..64; "
            "fix: use a number from 1 to 64",
        ),
        (
            '[outbox]\npolicy = "drop"\n',
            {},
            'outbox.policy = "drop" ('
            "from file {file}): not a known choice; "
            "fix: use 'evict-oldest' or 'reject-new'",
        ),
        (
            "[[camera]]\nthreshold = 150\n",
            {},
            "camera[0].threshold = 150.0 (from file {file}): must be within 0..100; "
            "fix: use a number from 0 to 100",
        ),
        (
            '[[camera]]\nname = "front door"\n',
            {},
            'camera[0].name = "front door" ('
            "from file {file}): not a valid camera name; "
            "fix: use 1-64 letters, digits, '_' or '-'",
        ),
        (
            '[[camera]]\nname = "a"\n[[camera]]\nname = "a"\n',
            {},
            'camera[1].name = "a" ('
            "from file {file}): camera[0] has that name already; "
            "fix: give every [[camera]] its own name",
        ),
        (
            '[[camera]]\nzones = ["circle:1,2,3"]\n',
            {},
            "camera[0].zones = [\"circle:1,2,3\"] (from file {file}): 'circle:1,2,3' is not a "
            'zone; fix: write "rect:X,Y,W,H" or "poly:X1,Y1,X2,Y2,X3,Y3,..."',
        ),
        (
            "",
            {"YARDCAM_CAMERA_MIN_FRAMES": "0"},
            "camera[0].min_frames = 0 (from env YARDCAM_CAMERA_MIN_FRAMES): must be at least 1",
        ),
        (
            'cors_origins = ["*"]\n',
            {},
            "cors_origins = [\"*\"] (from file {file}): '*' is not an origin; "
            "fix: list origins as scheme://host[:port]",
        ),
        (
            'archive_url = "https://archive.example/frames"\n',
            {},
            "token_file = (not set) (from default): archive_url needs an upload token; "
            "fix: set token_file (flag --token-file)",
        ),
        (
            'token_file = "/nonexistent/token"\n',
            {},
            'token_file = "/nonexistent/token" (from file {file}): no such file; '
            "fix: give the path of an existing file",
        ),
        (
            "[outbox]\nmax_entries = 1.5\n",
            {},
            "outbox.max_entries = 1.5 (from file {file}): expected a whole number",
        ),
        (
            "camera = 3\n",
            {},
            "camera = 3 (from file {file}): must be one or more tables; "
            "fix: write each camera as a [[camera]] table",
        ),
        (
            "port = \n",
            {},
            "(from the file itself): not valid TOML: Invalid value (at line 1, column 8); "
            "fix: fix that line",
        ),
    ],
)
def test_cam_messages(tmp_path: Path, toml: str, env: dict[str, str], expected: str) -> None:
    message = _cam_error(tmp_path, toml, env)
    assert expected.format(file=tmp_path / "yardcam.toml") in message


def test_a_missing_config_file_given_by_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_cam_config({}, config_file=tmp_path / "nope.toml", environ={})
    assert "(from flag --config): no such file; fix: give an existing file" in str(caught.value)


def test_archive_messages(tmp_path: Path) -> None:
    config = tmp_path / "archive.toml"
    config.write_text('blobs = "ftp://frames"\n')
    with pytest.raises(ConfigError) as caught:
        load_archive_config({}, config_file=config, environ={})
    assert (
        f'blobs = "ftp://frames" (from file {config}): not a file://, s3:// URL; '
        "fix: give a URL such as s3://frames?endpoint=" in str(caught.value)
    )
    config.write_text("")
    with pytest.raises(ConfigError) as caught:
        load_archive_config({"tls_cert": config}, config_file=config, environ={})
    assert "tls_cert and tls_key go together; fix: set both, or neither" in str(caught.value)


def test_a_bad_value_never_shows_a_secret(tmp_path: Path) -> None:
    message = _cam_error(tmp_path, 'archive_url = "ftp://u:hunter2@archive/frames"\n')
    assert "hunter2" not in message
    assert "ftp://u:***@archive/frames" in message


def test_source_credentials_need_an_http_source(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("ycam_x")
    message = _cam_error(
        tmp_path, f'[[camera]]\nsource = "device:0"\nsource_token_file = "{token}"\n'
    )
    assert f'camera[0].source_token_file = "{token}"' in message
    assert "only an http(s) source uses it; fix: remove it, or set source" in message
    config = tmp_path / "ok.toml"
    config.write_text(
        f'[[camera]]\nsource = "https://other:8443/stream.jpg"\nsource_token_file = "{token}"\n'
    )
    loaded = load_cam_config({"data_dir": tmp_path}, config_file=config, environ={})
    assert loaded.config.cameras[0].source_token_file == token


def test_an_unreadable_default_file_is_not_blamed_on_a_flag(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")  # the data dir lies under a file: its yardcam.toml cannot be read
    data = blocker / "data"
    for load in (load_cam_config, load_archive_config):
        with pytest.raises(ConfigError) as caught:
            load({"data_dir": data}, environ={})
        message = str(caught.value)
        assert "(from the data directory): cannot be read (Not a directory)" in message
        assert "flag --config" not in message and "check the data directory (--data-dir)" in message
