"""``yardcam run`` end to end: a real subprocess, real HTTPS, a real login, frames archived."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from serving import banner_ports, start_yardcam_run
from yardcam import requests
from yardcam.config import CamConfig, OutboxConfig
from yardcam.run import open_outbox


@pytest.fixture
def running_box(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str, str, str]]:
    proc, text = start_yardcam_run(
        [
            "--data-dir",
            str(tmp_path / "data"),
            "--port",
            "0",
            "--archive-port",
            "0",
            "--fps",
            "30",
            "--source",
            "synthetic:width=640,height=360",
            "--cors-origin",
            "https://panel.example",
        ],
        tmp_path / "run.log",
        # A proxy in the environment (here: one that refuses) must not stand between the cam
        # and its embedded archive on the same box.
        env={"HTTPS_PROXY": "http://127.0.0.1:9"},
    )
    log = tmp_path / "run.log"
    try:
        # Output to a file, not a terminal: the password is not printed, only where it is.
        first_login = tmp_path / "data" / "first-login.txt"
        assert f"the password in {first_login}" in text, text
        assert first_login.stat().st_mode & 0o777 == 0o600
        user, password = first_login.read_text().split()
        assert user == "owner" and password not in text
        cert = str(tmp_path / "data" / "tls" / "cert.pem")
        port, _ = banner_ports(text)
        yield proc, f"https://127.0.0.1:{port}", password, cert
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            assert proc.wait(timeout=20) == 0, log.read_text()
        except subprocess.TimeoutExpired:
            proc.kill()
            raise


def _wait_ready(session: requests.Session, url: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            session.get(url + "/login")
            return
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_run_serves_dashboard_and_archives_motion(running_box) -> None:
    proc, url, password, cert = running_box
    with requests.Session() as s:
        s.verify = cert
        _wait_ready(s, url)
        assert s.get(url + "/api/state").status_code == 401

        page = s.get(url + "/login").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert csrf, page
        bad = s.post(
            url + "/login",
            data={"username": "owner", "password": "wrong", "csrf_token": csrf.group(1)},
        )
        assert bad.status_code == 401
        page = s.get(url + "/login").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert csrf
        ok = s.post(
            url + "/login",
            data={"username": "owner", "password": password, "csrf_token": csrf.group(1)},
        )
        assert ok.status_code == 200, ok.text
        assert ok.url.rstrip("/") == url

        deadline = time.monotonic() + 90
        while True:
            state = s.get(url + "/api/state").json()
            if state["archive"]["sent"] >= 1:
                break
            assert proc.poll() is None, "yardcam run exited"
            assert time.monotonic() < deadline, f"nothing archived: {state}"
            time.sleep(0.5)
        assert state["frame_count"] > 0
        allowed = s.get(url + "/api/state", headers={"Origin": "https://panel.example"})
        assert allowed.headers["Access-Control-Allow-Origin"] == "https://panel.example"
        other = s.get(url + "/api/state", headers={"Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in other.headers
        assert state["trigger_count"] >= 1
        assert state["last_motion"]["count"] >= 1
        # The embedded gallery at the host this client used (127.0.0.1), not a fixed localhost.
        assert re.fullmatch(r"https://127\.0\.0\.1:\d+/gallery", state["gallery"]), state


def test_a_second_run_on_the_same_data_dir_is_refused(running_box, tmp_path: Path) -> None:
    proc = running_box[0]
    ports = ["--port", "0", "--archive-port", "0"]
    second = subprocess.run(
        [sys.executable, "-m", "yardcam", "run", "--data-dir", str(tmp_path / "data"), *ports],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 2, second.stderr
    assert f"in use by another yardcam run (pid {proc.pid})" in second.stderr
    assert "--data-dir" in second.stderr and "Traceback" not in second.stderr
    assert proc.poll() is None  # the first one runs on, untouched


def _yardcam(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "yardcam", *args], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _start(data: Path, config: Path, log: Path) -> tuple[subprocess.Popen[bytes], int, int | None]:
    """``yardcam run --config``, once its banner is out: the process and the ports it bound."""
    proc, text = start_yardcam_run(["--config", str(config)], log)
    port, archive_port = banner_ports(text)
    return proc, port, archive_port


def _camera_config(data: Path, threshold: float) -> str:
    cameras = "".join(
        f'[[camera]]\nname = "{name}"\nsource = "synthetic:seed={seed},width=320,height=180"\n'
        f"fps = 30\nthreshold = {threshold}\narchive_every_frame = true\n"
        for name, seed in (("front", 1), ("back", 2))
    )
    return f'data_dir = "{data}"\nport = 0\narchive_port = 0\nstop_timeout = 20\n' + cameras


def test_two_cameras_detect_archive_apart_and_survive_sigterm(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    config = tmp_path / "yardcam.toml"
    config.write_text(_camera_config(data, threshold=0.5))
    log = tmp_path / "run.log"
    proc, port, _ = _start(data, config, log)
    try:
        cert = str(data / "tls" / "cert.pem")
        api = _yardcam("token", "create", "test", "--data-dir", str(data))
        reader = _yardcam(
            "archive", "token", "create", "--scope", "read", "--data-dir", str(data / "archive")
        )
        with requests.Session() as s:
            s.verify = cert
            _wait_ready(s, f"https://127.0.0.1:{port}")
            deadline = time.monotonic() + 90
            while True:  # both cameras detect, and the dashboard's /status shows both
                status = s.get(
                    f"https://127.0.0.1:{port}/status",
                    headers={"Authorization": f"Bearer {api}"},
                ).json()
                triggers = {c["camera"]: c["triggers"] for c in status["cameras"]}
                if min(triggers.values()) >= 5 and status["archive"]["sent"] >= 2:
                    break
                assert proc.poll() is None and time.monotonic() < deadline, status
                time.sleep(0.2)
            assert set(triggers) == {"front", "back"}
        token_file = tmp_path / "api-token"
        token_file.write_text(api)
        # status finds the cam from its config (the box took any free port: name the one bound)
        bound = tmp_path / "bound.toml"
        bound.write_text(config.read_text().replace("port = 0\n", f"port = {port}\n", 1))
        shown = _yardcam("status", "--config", str(bound), "--token-file", str(token_file))
        assert "camera front: streaming" in shown and "camera back: streaming" in shown
        assert re.search(r"archive ok: \d+ sent", shown), shown
        # --url on this box is verified with its self-signed certificate too
        here = f"https://localhost:{port}"
        shown = _yardcam(
            "status", "--config", str(config), "--token-file", str(token_file), "--url", here
        )
        assert "camera front: streaming" in shown, shown
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)  # the bound: stop_timeout, and then some
    text = log.read_text()
    assert code == 0, text
    handed = {
        name: int(n) for name, n in re.findall(r"camera (\w+): triggers handed on: (\d+)", text)
    }
    assert set(handed) == {"front", "back"}, text
    assert re.search(r"stopped: \d+ sent, 0 dropped, \d+ pending", text), text

    # The next start (never triggering) sends what was left; each camera's frames are in the
    # archive under its own name, every accepted one exactly once.
    config.write_text(_camera_config(data, threshold=100))
    proc, _, archive_port = _start(data, config, tmp_path / "run2.log")
    assert archive_port is not None  # the embedded archive: its gallery line is in the banner
    try:
        with requests.Session() as s:
            s.verify = cert
            deadline = time.monotonic() + 90
            while True:
                seqs = {}
                for cam in handed:
                    r = s.get(
                        f"https://127.0.0.1:{archive_port}/frames",
                        params={"cam": cam, "limit": "1000"},
                        headers={"Authorization": f"Bearer {reader}"},
                    )
                    r.raise_for_status()
                    seqs[cam] = [frame["seq"] for frame in r.json()["frames"]]
                if all(len(seqs[cam]) >= handed[cam] for cam in handed):
                    break
                assert time.monotonic() < deadline, (handed, {c: len(v) for c, v in seqs.items()})
                time.sleep(0.3)
        for cam, count in handed.items():
            assert len(seqs[cam]) == count and len(set(seqs[cam])) == count, cam
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0


def test_a_second_signal_forces_the_stop(tmp_path: Path) -> None:
    # An archive that takes connections and never answers: uploads stay in flight, so the
    # clean stop waits for them (up to stop_timeout) and there is time for a second signal.
    silent = socket.create_server(("127.0.0.1", 0))
    token = tmp_path / "token"
    token.write_text("yc_000000000000_never-checked")
    data, config = tmp_path / "data", tmp_path / "yardcam.toml"
    config.write_text(
        f'data_dir = "{data}"\nport = 0\nstop_timeout = 60\n'
        f'archive_url = "https://127.0.0.1:{silent.getsockname()[1]}/frames"\n'
        f'token_file = "{token}"\n'
        '[[camera]]\nsource = "synthetic:width=320,height=180"\nfps = 30\nthreshold = 0.5\n'
        "archive_every_frame = true\n"
    )
    log = tmp_path / "run.log"
    with silent:
        proc, _, _ = _start(data, config, log)
        deadline = time.monotonic() + 90
        while not list((data / "cam" / "outbox" / "pending").glob("*.json")):
            assert time.monotonic() < deadline and proc.poll() is None, log.read_text()
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        while "stopping:" not in log.read_text():
            assert time.monotonic() < deadline and proc.poll() is None, log.read_text()
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 1, log.read_text()
    assert "forced stop: exiting now" in log.read_text()


def test_the_outbox_is_bounded_by_the_disk_unless_configured(tmp_path: Path) -> None:
    # An outage must not fill the disk: with no max_bytes in the config, yardcam run's outbox
    # takes a byte bound from the free space (it used to pass None: no byte bound at all).
    derived = open_outbox(CamConfig(data_dir=tmp_path / "auto"))
    assert derived.max_bytes is not None and derived.keep_free is not None
    configured = open_outbox(
        CamConfig(data_dir=tmp_path / "set", outbox=OutboxConfig(max_bytes=5_000_000))
    )
    assert configured.max_bytes == 5_000_000


def test_a_data_dir_that_cannot_be_made_is_a_clear_error() -> None:
    data = Path("/proc/yardcam-no-such-dir/data")  # procfs refuses mkdir, even to root
    done = subprocess.run(
        [sys.executable, "-m", "yardcam", "run", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert f"cannot use {data} as the data directory" in done.stderr
    assert "--data-dir DIR" in done.stderr and "Traceback" not in done.stderr


def test_the_banner_says_when_the_dashboards_threshold_wins_over_the_flag(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    # What the dashboard saved before the restart (POST /config, the slider).
    (data / "state.json").write_text('{"cameras": {"yard": {"threshold": 30}}, "version": 1}')
    args = ["--data-dir", str(data), "--port", "0", "--archive-port", "0", "--threshold", "7"]
    proc, text = start_yardcam_run(args, tmp_path / "run.log")
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 0
    assert (
        f"camera 'yard' from synthetic at 10 fps, threshold 30 as set on the dashboard (kept in "
        f"{data / 'state.json'}, over --threshold and the configuration file)"
    ) in text


def test_the_banner_names_a_host_a_browser_can_open() -> None:
    import doctest

    import yardcam.run

    # 'yardcam run --host 0.0.0.0' printed https://0.0.0.0:8443/, which no phone can open.
    assert doctest.testmod(yardcam.run).failed == 0
    assert yardcam.run.browse_host("0.0.0.0") not in ("0.0.0.0", "")
    assert yardcam.run.browse_host("fd00::20") == "[fd00::20]"
