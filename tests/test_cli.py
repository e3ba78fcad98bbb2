"""The ``yardcam`` command's own subcommands (``run`` is covered by test_run.py)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from yardcam.web import Accounts


def _yardcam(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "yardcam", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_user_set_stores_an_argon2_hash(tmp_path: Path) -> None:
    done = _yardcam(
        "user",
        "set",
        "alice",
        "--data-dir",
        str(tmp_path),
        "--password-stdin",
        stdin="correct horse\n",
    )
    assert done.returncode == 0, done.stderr
    stored = (tmp_path / "users.json").read_text()
    assert "correct horse" not in stored and "$argon2id$" in stored
    assert Accounts(tmp_path / "users.json").verify("alice", "correct horse")


def test_user_set_refuses_a_weak_password_and_says_why(tmp_path: Path) -> None:
    done = _yardcam(
        "user", "set", "alice", "--data-dir", str(tmp_path), "--password-stdin", stdin="short\n"
    )
    assert done.returncode == 2
    assert "password must be 8" in done.stderr
    assert not (tmp_path / "users.json").exists()


def test_no_command_prints_usage() -> None:
    done = _yardcam()
    assert done.returncode == 2
    assert "usage: yardcam" in done.stderr


def test_run_on_a_taken_port_says_what_to_do(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _yardcam(
            "run", "--data-dir", str(tmp_path), "--port", str(port), "--archive-port", "0"
        )
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port} (Address already in use)" in done.stderr
    assert "--port" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "users.json").exists()  # the first-run login waits for a real start


def test_run_refuses_bad_input_before_creating_anything(tmp_path: Path) -> None:
    for args, reason in [
        (["--source", "nosuch:x"], "unknown frame source"),
        (["--threshold", "150"], "threshold must be within 0..100"),
        (["--archive-url", "https://archive.example/frames"], "needs --token-file"),
    ]:
        done = _yardcam("run", "--data-dir", str(tmp_path / "data"), *args)
        assert done.returncode == 2, done.stderr
        assert reason in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "data").exists()
