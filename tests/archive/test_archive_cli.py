"""``yardcam archive`` commands on both stacks, run in-process through ``yardcam.cli.main``."""

from __future__ import annotations

import argparse
import asyncio
import io
import re
import signal
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from archive.helpers import make_jpeg, storage_args, store_frame, unique_cam
from yardcam import requests
from yardcam.archive import Archive, ArchiveSettings, export_zip
from yardcam.cli import main
from yardcam.cli._archive import plain_http_warning, register, settings_from_args


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["archive", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def seed(settings: ArchiveSettings, cam: str, *stamps: float) -> None:
    """One frame of ``cam`` per capture time in ``stamps``, stored in the archive."""

    async def store() -> None:
        async with Archive(settings) as archive:
            for number, ts in enumerate(stamps, 1):
                await store_frame(archive, cam, ts, make_jpeg(seed=number))

    asyncio.run(store())


def test_register_adds_the_archive_group() -> None:
    parser = argparse.ArgumentParser(prog="yardcam")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["archive", "token", "create", "--cam", "yard"])
    assert callable(args.func)
    assert args.scope == "upload"
    with pytest.raises(SystemExit):
        parser.parse_args(["archive", "token", "create", "--cam", "../etc"])


def test_settings_from_flags_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YARDCAM_ARCHIVE_INDEX", "postgresql://db.example/yardcam")
    monkeypatch.setenv("YARDCAM_ARCHIVE_MAX_FRAME_BYTES", "12345")
    monkeypatch.setenv("YARDCAM_ARCHIVE_RETENTION_MAX_AGE_DAYS", "9")  # the flag wins
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["archive", "serve", "--data-dir", str(tmp_path), "--max-age", "2"])
    settings = settings_from_args(args)
    assert settings.index == "postgresql://db.example/yardcam"
    assert settings.blobs == (tmp_path / "blobs").resolve().as_uri()
    assert settings.max_frame_bytes == 12345
    assert settings.retention_for("any").max_age == 2 * 86400


def test_token_create_list_revoke(
    settings: ArchiveSettings, start_node, capsys: pytest.CaptureFixture[str]
) -> None:
    node = start_node(settings)
    code, out, err = run(capsys, "token", "create", "--cam", "yard", *storage_args(settings))
    assert code == 0
    secret = out.strip()
    assert secret.startswith("yc_") and "shown once" in err
    token_id = secret.split("_")[1]

    def upload() -> int:
        r = requests.post(
            f"{node.url}/frames", files={"image": make_jpeg()}, auth=requests.BearerAuth(secret)
        )
        return r.status_code

    assert upload() == 201
    code, out, _ = run(capsys, "token", "list", *storage_args(settings))
    assert code == 0
    assert token_id in out and secret not in out
    assert next(line for line in out.splitlines() if token_id in line).split()[-1] == "active"
    code, out, _ = run(capsys, "token", "revoke", token_id, *storage_args(settings))
    assert code == 0
    assert f"revoked {token_id}; running nodes refuse it within" in out
    # Nodes trust a checked token for settings.token_ttl seconds: revocation lands within it.
    deadline = time.monotonic() + settings.token_ttl + 10
    while upload() != 401:
        assert time.monotonic() < deadline, "revoked token still accepted"
        time.sleep(0.1)
    code, out, _ = run(capsys, "token", "list", *storage_args(settings))
    assert next(line for line in out.splitlines() if token_id in line).endswith("revoked")
    assert run(capsys, "token", "revoke", "nope", *storage_args(settings))[0] == 1


def test_upload_token_needs_a_cam(settings: ArchiveSettings, capsys) -> None:
    code, out, err = run(capsys, "token", "create", *storage_args(settings))
    assert code == 2
    assert out == "" and "needs a cam" in err


def test_purge_and_export_commands(
    settings: ArchiveSettings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cam = unique_cam("cli")

    seed(settings, cam, 1000.0, 4e9)  # the second in the far future: kept
    out_zip = tmp_path / "frames.zip"
    code, out, err = run(capsys, "export", "--cam", cam, str(out_zip), *storage_args(settings))
    assert code == 0 and "exported 2 frames" in out
    assert "\r" not in err  # stderr is not a terminal here: no bar redrawn in the log
    with zipfile.ZipFile(out_zip) as zf:
        assert len([n for n in zf.namelist() if n.endswith(".jpg")]) == 2
    code, out, _ = run(capsys, "purge", "--max-age", "1", *storage_args(settings))
    assert code == 0 and "purged 1 frame (" in out
    code, out, _ = run(
        capsys,
        "export",
        "--cam",
        cam,
        "--since",
        "1970-01-02",
        str(out_zip),
        *storage_args(settings),
    )
    assert "exported 1 frame to" in out


def test_export_refuses_an_archive_or_a_cam_that_is_not_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A typo in --data-dir or --cam is said, with what to do, and creates nothing (it used to
    make an empty archive and write an empty zip, exit 0)."""
    missing, out_zip = tmp_path / "nowhere", tmp_path / "out.zip"
    code, _, err = run(capsys, "export", "--data-dir", str(missing), "--cam", "yard", str(out_zip))
    assert code == 2 and f"no archive in {missing}" in err and "--data-dir" in err
    assert not missing.exists() and not out_zip.exists()

    settings = ArchiveSettings.for_data_dir(tmp_path / "archive")
    seed(settings, "yard", 1_700_000_000.0)
    data = ["--data-dir", str(settings.data_dir)]
    code, _, err = run(capsys, "export", *data, "--cam", "yrad", str(out_zip))
    assert code == 2 and "no cam 'yrad'; its cams: yard" in err and not out_zip.exists()
    # A cam it knows with nothing in the window: an empty zip is the true answer.
    code, out, _ = run(
        capsys, "export", *data, "--cam", "yard", "--since", "2030-01-01", str(out_zip)
    )
    assert code == 0 and "exported 0 frames" in out


def test_exported_frames_are_dated_with_their_capture_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = ArchiveSettings.for_data_dir(tmp_path / "archive")
    taken = 1_700_000_122.0  # even: a zip entry keeps seconds in steps of 2
    seed(settings, "yard", taken)
    out_zip = tmp_path / "out.zip"
    started = time.time()
    code, _, _ = run(
        capsys, "export", "--data-dir", str(settings.data_dir), "--cam", "yard", str(out_zip)
    )
    assert code == 0
    with zipfile.ZipFile(out_zip) as zf:
        (frame,) = [i for i in zf.infolist() if i.filename.endswith(".jpg")]
        manifest = zf.getinfo("frames.jsonl")
    assert frame.date_time == time.localtime(taken)[:6]  # not 1980-01-01
    assert struct.pack("<HHBl", 0x5455, 5, 1, int(taken)) in frame.extra  # UTC, for unzip
    assert manifest.date_time >= time.localtime(started - 2)[:6]  # the export's own time


def test_user_add_creates_a_gallery_login(
    settings: ArchiveSettings, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse battery\n"))
    code, _, _ = run(capsys, "user", "add", "owner", "--password-stdin", *storage_args(settings))
    assert code == 0
    assert "owner" in settings.accounts_path.read_text()
    assert "correct horse" not in settings.accounts_path.read_text()
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    code, _, err = run(
        capsys, "user", "passwd", "owner", "--password-stdin", *storage_args(settings)
    )
    assert code == 2 and "password" in err
    code, out, _ = run(capsys, "user", "list", *storage_args(settings))
    assert code == 0 and out.split() == ["owner"]


def test_storage_failure_is_a_clean_error(tmp_path: Path, capsys) -> None:
    code, _, err = run(
        capsys,
        "token",
        "list",
        "--data-dir",
        str(tmp_path),
        "--index",
        "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1",
    )
    assert code == 1
    assert "storage error" in err


@pytest.mark.timeout(60)
def test_serve_on_storage_it_cannot_open_is_one_clear_line(tmp_path: Path, capsys) -> None:
    index = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1"  # nobody listens there
    code, _, err = run(
        capsys, "serve", "--port", "0", "--data-dir", str(tmp_path), "--index", index
    )
    assert code == 1  # not a traceback from the server's start-up, exit 3
    assert err.startswith("yardcam archive serve: storage error: postgresql: connection failed")
    assert "check the blobs and index URLs (--blobs, --index, or the configuration file)" in err


def test_serve_banner_never_shows_the_index_password() -> None:
    from yardcam.config import redact_url

    assert (
        redact_url("postgresql://archive:s3cret@db:5432/yc")
        == "postgresql://archive:***@db:5432/yc"
    )
    assert redact_url("sqlite:////srv/index.db") == "sqlite:////srv/index.db"


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_serve_stops_cleanly_on_a_signal(tmp_path: Path, stop: signal.Signals) -> None:
    """Ctrl-C or systemd's SIGTERM: exit 0 with a line saying so (was: a KeyboardInterrupt
    traceback and 130, or death by SIGTERM)."""
    log = tmp_path / "serve.log"
    cmd = [sys.executable, "-m", "yardcam", "archive", "serve", "--port", "0"]
    with log.open("wb") as out:
        proc = subprocess.Popen([*cmd, "--data-dir", str(tmp_path)], stderr=out)
    try:
        deadline = time.monotonic() + 30
        while not (serving := re.search(r"serving http://127\.0\.0\.1:(\d+)/", log.read_text())):
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        # The line comes before the server has started; stop a running one: wait for /healthz.
        url = f"http://127.0.0.1:{serving.group(1)}/healthz"
        while True:
            try:
                if requests.get(url, timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        proc.send_signal(stop)
        assert proc.wait(timeout=30) == 0, log.read_text()
    finally:
        proc.kill()
    text = log.read_text()
    assert "yardcam.archive: stopped" in text and "Traceback" not in text, text


@pytest.mark.parametrize(
    ("host", "warned"),
    [("127.0.0.1", False), ("::1", False), ("localhost", False), ("0.0.0.0", True), ("nas", True)],
)
def test_plain_http_beyond_this_box_is_warned_about(host: str, warned: bool) -> None:
    # Tested as a function: a test may not listen beyond loopback to see the log line.
    warning = plain_http_warning(host)
    assert (warning is not None) == warned
    assert warning is None or "--tls-cert" in warning


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("module", "argv"),
    [
        ("obstore", ["serve", "--port", "0", "--blobs", "s3://frames?endpoint=http://127.0.0.1:9"]),
        (
            "psycopg",
            ["token", "create", "--cam", "yard", "--index", "postgresql://a@127.0.0.1:9/y"],
        ),
    ],
)
def test_the_scaled_stack_without_its_extra_says_what_to_install(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    module: str,
    argv: list[str],
) -> None:
    # As after 'bash scripts/run' (yardcam without extras): the driver cannot be imported.
    monkeypatch.setitem(sys.modules, module, None)
    code, _, err = run(capsys, *argv, "--data-dir", str(tmp_path))
    assert code == 2  # before anything starts, not a traceback from the server's start-up
    assert f"needs {module}" in err and "pip install 'yardcam[scale]'" in err


def test_a_bad_flag_value_is_reported_under_the_flag_as_typed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "purge", "--max-age", "0.0001", "--data-dir", str(tmp_path))
    assert code == 2
    assert "retention.max_age_days = 0.0001 (from flag --max-age)" in err  # not --max-age-days
    assert not (tmp_path / "index.db").exists()


def test_a_bad_expiry_says_what_is_accepted(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as refused:
        run(
            capsys,
            "token",
            "create",
            "--cam",
            "yard",
            "--expires",
            "3y",
            "--data-dir",
            str(tmp_path),
        )
    assert refused.value.code == 2
    err = capsys.readouterr().err
    assert "argument --expires: expected a lifetime (90m, 12h, 30d, 8w) or an instant" in err
    assert "invalid parse_expiry value" not in err


def test_export_to_a_path_it_cannot_write_says_so_and_leaves_nothing(
    settings: ArchiveSettings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cam = unique_cam("cli")
    seed(settings, cam, 1000.0)
    target = tmp_path / "exports"
    target.mkdir()
    for out, reason in [
        (target, f"{target} is a directory: name the zip file, e.g. {target / 'frames.zip'}"),
        (target / "no" / "x.zip", f"no directory {target / 'no'}: make it first"),
    ]:
        code, _, err = run(capsys, "export", "--cam", cam, str(out), *storage_args(settings))
        assert code == 2 and reason in err and "Traceback" not in err

    async def export_over_a_directory() -> None:  # what the check above keeps users from
        async with Archive(settings) as archive:
            with pytest.raises(IsADirectoryError):
                await export_zip(archive, cam, target)

    asyncio.run(export_over_a_directory())
    assert list(tmp_path.rglob("*.part")) == []  # it left exports.part before


def test_retention_flags_only_where_retention_applies(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser(prog="yardcam")
    register(parser.add_subparsers(dest="command", required=True))
    data = ["--data-dir", str(tmp_path)]
    for command in (["serve"], ["purge"], ["config", "show"]):
        assert parser.parse_args(["archive", *command, *data, "--max-age", "2"]).max_age == 2
    for command in (["export", "--cam", "yard", "out.zip"], ["token", "list"], ["user", "list"]):
        with pytest.raises(SystemExit):  # was accepted, then ignored: a setting that did nothing
            parser.parse_args(["archive", *command, *data, "--max-age", "2"])
