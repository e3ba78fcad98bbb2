"""The ``yardcam`` command's own subcommands (``run`` is covered by test_run.py)."""

from __future__ import annotations

import argparse
import errno
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from yardcam.cli import build_parser
from yardcam.web import Accounts


def _yardcam(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "yardcam", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_user_add_stores_an_argon2_hash(tmp_path: Path) -> None:
    done = _yardcam(
        "user",
        "add",
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


def test_user_add_refuses_a_weak_password_and_says_why(tmp_path: Path) -> None:
    done = _yardcam(
        "user", "add", "alice", "--data-dir", str(tmp_path), "--password-stdin", stdin="short\n"
    )
    assert done.returncode == 2
    assert "password must be 8" in done.stderr
    assert not (tmp_path / "users.json").exists()


def test_user_add_without_a_terminal_says_to_pipe_the_password(tmp_path: Path) -> None:
    for command in (["user"], ["archive", "user"]):
        done = _yardcam(*command, "add", "alice", "--data-dir", str(tmp_path))  # stdin: a pipe
        assert done.returncode == 2, done.stderr
        assert "--password-stdin" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "users.json").exists()


def test_status_of_a_cam_that_is_not_there_names_the_url_option(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (tmp_path / "yardcam.toml").write_text(f"port = {port}\n")
    done = subprocess.run(
        [sys.executable, "-m", "yardcam", "status", "--data-dir", str(tmp_path)],
        env={**os.environ, "YARDCAM_API_TOKEN": "ycam_x"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert f"127.0.0.1:{port}" in done.stderr and "--url https://HOST:PORT" in done.stderr


def test_user_passwd_list_remove(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path)]
    stdin = "--password-stdin"
    assert _yardcam("user", "add", "bob", *data, stdin, stdin="first password\n").returncode == 0
    again = _yardcam("user", "add", "bob", *data, stdin, stdin="other password\n")
    assert again.returncode == 2 and "user passwd" in again.stderr  # says what to run instead
    # The first-run password file (what yardcam run leaves when not on a terminal) goes with
    # the password it holds; another login's new password leaves it alone.
    first_login = tmp_path / "first-login.txt"
    first_login.write_text("bob\nfirst password\n")
    assert _yardcam("user", "add", "eve", *data, stdin, stdin="eve's password\n").returncode == 0
    assert first_login.exists()
    changed = _yardcam("user", "passwd", "bob", *data, stdin, stdin="new password\n")
    assert changed.returncode == 0 and f"deleted {first_login}" in changed.stdout
    assert not first_login.exists()
    assert Accounts(tmp_path / "users.json").verify("bob", "new password")
    missing = _yardcam("user", "passwd", "carol", *data, stdin, stdin="new password\n")
    assert missing.returncode == 2 and "user add carol" in missing.stderr
    assert _yardcam("user", "list", *data).stdout.split() == ["bob", "eve"]
    assert _yardcam("user", "remove", "bob", *data).returncode == 0
    assert _yardcam("user", "list", *data).stdout.split() == ["eve"]
    assert _yardcam("user", "remove", "bob", *data).returncode == 1


def test_the_data_dir_can_come_from_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "yardcam.toml"
    config.write_text(f'data_dir = "{tmp_path / "elsewhere"}"\n')
    done = _yardcam(
        "user", "add", "dee", "--config", str(config), "--password-stdin", stdin="long enough\n"
    )
    assert done.returncode == 0, done.stderr
    assert "dee" in Accounts(tmp_path / "elsewhere" / "users.json")


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


def _an_address_not_on_this_box() -> str:
    """A documentation address (RFC 5737) that no interface here has: some sandboxes number
    their own interfaces from these ranges."""
    for candidate in ("192.0.2.1", "198.51.100.1", "203.0.113.1"):
        with socket.socket() as probe:
            try:
                probe.bind((candidate, 0))
            except OSError as exc:
                if exc.errno == errno.EADDRNOTAVAIL:
                    return candidate
    raise AssertionError("every documentation address is on this box")


@pytest.mark.parametrize("command", [["run"], ["archive", "serve"]])
@pytest.mark.parametrize("host", ["not this box's", "no-such-host.invalid"])
def test_serving_on_an_address_that_is_not_this_boxs_says_which_to_use(
    tmp_path: Path, command: list[str], host: str
) -> None:
    # .invalid never resolves (RFC 2606).
    host = _an_address_not_on_this_box() if host == "not this box's" else host
    done = _yardcam(*command, "--data-dir", str(tmp_path), "--host", host, "--port", "0")
    assert done.returncode == 2, done.stderr
    assert f"cannot listen on {host}:0" in done.stderr and "Traceback" not in done.stderr
    assert "not one of this box's: use 127.0.0.1" in done.stderr and "--host" in done.stderr
    assert "another yardcam" not in done.stderr  # the port is not what is wrong


def test_run_refuses_bad_input_before_creating_anything(tmp_path: Path) -> None:
    for args, reason in [
        (["--source", "nosuch:x"], 'camera[0].source = "nosuch:x" (from flag --source)'),
        (["--threshold", "150"], "camera[0].threshold = 150.0 (from flag --threshold): must be"),
        (["--cam", "front door"], 'camera[0].name = "front door" (from flag --cam)'),
        (["--archive-url", "https://archive.example/frames"], "set token_file (flag --token-file)"),
    ]:
        done = _yardcam("run", "--data-dir", str(tmp_path / "data"), *args)
        assert done.returncode == 2, done.stderr
        assert reason in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "data").exists()


def test_ctrl_c_at_a_prompt_ends_without_a_traceback(tmp_path: Path) -> None:
    command = ["user", "add", "alice", "--password-stdin", "--data-dir", str(tmp_path)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "yardcam", *command],
        stdin=subprocess.PIPE,  # kept open and empty: the command waits for the password
        stderr=subprocess.PIPE,
        text=True,
    )
    wchan = Path(f"/proc/{proc.pid}/wchan")
    deadline = time.monotonic() + 30
    while "pipe" not in wchan.read_text():  # blocked reading stdin (pipe_read)
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert err.strip() == "yardcam user add: interrupted"
    assert not (tmp_path / "users.json").exists()


def test_a_bad_source_lists_the_kinds_of_source_once(tmp_path: Path) -> None:
    done = _yardcam("run", "--data-dir", str(tmp_path / "data"), "--source", "nonsense")
    assert done.returncode == 2, done.stderr
    assert "unknown frame source 'nonsense'" in done.stderr
    assert done.stderr.count("video file") == 1, done.stderr
    assert "examples: 'yardcam run --help'" in done.stderr


def test_counts_are_singular_for_one() -> None:
    import doctest

    import yardcam.cli._plural

    assert doctest.testmod(yardcam.cli._plural).failed == 0


def _printed_command(stderr: str, starting: str) -> list[str]:
    """The hint in ``stderr`` that starts with ``starting``, split as a shell would."""
    start = stderr.index(f"'{starting}")
    return shlex.split(stderr[start + 1 : stderr.index("'", start + 1 + len(starting))])


def test_hints_repeat_where_the_command_was_pointed_and_work_as_printed(tmp_path: Path) -> None:
    import doctest

    import yardcam.cli._hints

    assert doctest.testmod(yardcam.cli._hints).failed == 0
    data = ["--data-dir", str(tmp_path / "front cam")]  # a space: the hint must quote it
    python = f"{sys.executable} -m yardcam"
    stdin = "--password-stdin"
    assert _yardcam("user", "add", "bob", *data, stdin, stdin="first password\n").returncode == 0
    again = _yardcam("user", "add", "bob", *data, stdin, stdin="other password\n")
    hint = _printed_command(again.stderr, f"{python} user passwd")
    assert hint[-2:] == data  # not the default data dir: another cam's logins, or none
    changed = subprocess.run(
        [*hint, stdin], input="other password\n", capture_output=True, text=True, timeout=60
    )
    assert changed.returncode == 0, changed.stderr
    assert Accounts(tmp_path / "front cam" / "users.json").verify("bob", "other password")

    missing = _yardcam("token", "revoke", "nobody", *data)
    listing = subprocess.run(
        _printed_command(missing.stderr, f"{python} token list"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listing.returncode == 0 and "token create NAME --data-dir" in listing.stderr

    status = _yardcam("status", *data)  # no token: says how to make one for this cam
    assert status.returncode == 2
    made = _printed_command(status.stderr, f"{python} token create status")
    assert made[-4:] == [*data, ">", "~/.yardcam-token"]


def test_status_with_a_token_file_that_is_not_there_says_how_to_make_it(tmp_path: Path) -> None:
    missing = tmp_path / "status-token"
    done = _yardcam("status", "--data-dir", str(tmp_path), "--token-file", str(missing))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"cannot read the token file {missing} (No such file or directory)" in done.stderr
    made = _printed_command(done.stderr, f"{sys.executable} -m yardcam token create status")
    assert made[-4:] == ["--data-dir", str(tmp_path), ">", str(missing)]


def test_user_commands_on_a_data_dir_that_cannot_be_made_say_so() -> None:
    data = "/proc/yardcam-nowhere/data"  # /proc takes no new directories, even from root
    for command in (["user", "list"], ["archive", "user", "list"]):
        done = _yardcam(*command, "--data-dir", data)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert f"cannot use {data} as the data directory (No such file or directory)" in (
            done.stderr
        )


def test_the_archive_groups_hints_are_spelled_as_yardcam_was_run(tmp_path: Path) -> None:
    # After 'bash scripts/run' yardcam is .venv/bin/yardcam, not on the PATH; here: python -m.
    data = ["--data-dir", str(tmp_path)]
    missing = _yardcam("archive", "user", "passwd", "carol", *data, "--password-stdin")
    hint = _printed_command(missing.stderr, f"{sys.executable} -m yardcam archive user add")
    assert hint[-3:] == ["carol", *data]
    unknown = _yardcam("archive", "token", "revoke", "nope", *data)
    listing = _printed_command(unknown.stderr, f"{sys.executable} -m yardcam archive token list")
    assert subprocess.run(listing, capture_output=True, timeout=60).returncode == 0


def test_token_create_of_a_taken_name_says_how_to_free_it(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path)]
    assert _yardcam("token", "create", "ha", *data).returncode == 0
    again = _yardcam("token", "create", "ha", *data)
    assert again.returncode == 2 and "a token named 'ha' exists" in again.stderr
    revoke = _printed_command(again.stderr, f"{sys.executable} -m yardcam token revoke")
    assert subprocess.run(revoke, capture_output=True, timeout=60).returncode == 0
    assert _yardcam("token", "create", "ha", *data).returncode == 0


def test_every_help_page_fits_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setattr(sys, "argv", [".venv/bin/yardcam"])  # hints quote the command as run
    pages, parsers = {}, [build_parser()]
    while parsers:
        parser = parsers.pop()
        pages[parser.prog] = parser.format_help()
        for action in parser._actions:  # the subcommands' parsers
            if isinstance(action, argparse._SubParsersAction):
                parsers.extend(action.choices.values())
    assert len(pages) > 20 and "yardcam run" in pages
    for prog, text in pages.items():
        long = [line for line in text.splitlines() if len(line) > 100]
        assert not long, f"{prog} --help: {long}"
