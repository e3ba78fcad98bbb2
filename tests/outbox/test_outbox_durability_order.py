"""The outbox's crash rule, checked on the real system calls: write, fsync the file, rename,
fsync the directory, all before ``put`` returns.

A SIGKILL keeps the page cache, so crash tests pass even when an fsync is missing; only a power
cut would show it. So the writes are traced with strace (``-y`` names each descriptor's file)
in a child process that calls the public API, and the order is checked per file. Removing any
step (or moving the rename before the file's fsync) fails this test. The secret files of the
web apps (``yardcam.durable.write_atomic``, the same helper) are held to the same rule.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from ci import missing


@pytest.fixture(autouse=True)
def _strace() -> None:
    if shutil.which("strace") is None:
        missing("strace is not installed (apt-get install strace)")


SYSCALLS = "openat,write,writev,fsync,fdatasync,rename,renameat,renameat2,close"
BEGIN, END = "DURABLE-BEGIN", "DURABLE-END"


@dataclass(frozen=True)
class Call:
    name: str
    args: str


def _trace(tmp_path: Path, code: str) -> list[Call]:
    """Run ``code`` in a fresh interpreter under strace; the calls between the markers."""
    script = tmp_path / "child.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import os, sys
            from pathlib import Path
            base = Path(sys.argv[1])
            os.write(1, b"{BEGIN}\\n")
            """
        )
        + textwrap.dedent(code)
        + f'\nos.write(1, b"{END}\\n")\n'
    )
    out = tmp_path / "trace.txt"
    strace = ["strace", "-f", "-qq", "-y", "-s", "64", "-e", f"trace={SYSCALLS}", "-o", str(out)]
    subprocess.run(
        [*strace, sys.executable, str(script), str(tmp_path)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    calls, inside = [], False
    for line in out.read_text().splitlines():
        match = re.match(r"^(?:\d+\s+)?(\w+)\((.*)$", line)
        if match is None:  # "<... resumed>" halves: the call was recorded when it began
            continue
        name, args = match.groups()
        if name == "write" and BEGIN in args:
            inside = True
        elif name == "write" and END in args:
            return calls
        elif inside:
            calls.append(Call(name, args))
    raise AssertionError(f"the markers were not traced:\n{out.read_text()[-3000:]}")


def _fd_path(args: str) -> str:
    """The file behind the first descriptor argument, as strace -y shows it: ``3</a/b>``."""
    match = re.match(r"\d+<(.*?)>", args)
    return match.group(1) if match else ""


def _renames(calls: list[Call]) -> list[tuple[int, str, str]]:
    """(index, source, target) of every rename, whichever syscall variant libc used."""
    found = []
    for i, call in enumerate(calls):
        if call.name.startswith("rename"):
            paths = re.findall(r'"([^"]*)"', call.args)
            found.append((i, paths[0], paths[1]))
    return found


def assert_durable_write(calls: list[Call], target: Path, size: int) -> None:
    """``target`` got its ``size`` bytes through a temp file: write, fsync, rename, dir fsync."""
    renames = [(i, src) for i, src, dst in _renames(calls) if Path(dst) == target]
    assert len(renames) == 1, f"{target.name}: expected one rename onto it, saw {renames}"
    renamed_at, temp = renames[0]
    assert Path(temp).parent == target.parent, "the temp file must be in the same directory"
    writes = [
        (i, int(call.args.rsplit("=", 1)[1].split()[0]))
        for i, call in enumerate(calls[:renamed_at])
        if call.name in ("write", "writev") and _fd_path(call.args) == temp
    ]
    assert sum(n for _, n in writes) == size, f"{target.name}: the data was not all written"
    synced = [
        i
        for i, call in enumerate(calls[:renamed_at])
        if call.name in ("fsync", "fdatasync") and _fd_path(call.args) == temp
    ]
    assert synced and synced[-1] > writes[-1][0], (
        f"{target.name}: no fsync of the temp file between its last write and the rename"
    )
    dir_synced = [
        i
        for i, call in enumerate(calls)
        if i > renamed_at
        and call.name in ("fsync", "fdatasync")
        and _fd_path(call.args) == str(target.parent)
    ]
    assert dir_synced, f"{target.name}: the directory was not fsynced after the rename"


def test_outbox_put_writes_fsyncs_renames_then_fsyncs_the_directory(tmp_path: Path) -> None:
    jpeg = b"\xff\xd8" + bytes(range(256)) * 40 + b"\xff\xd9"
    calls = _trace(
        tmp_path,
        f"""
        from yardcam.outbox import Outbox
        box = Outbox(base / "outbox")
        entry = box.put(cam="yard", jpeg={jpeg!r}, ts=1700000000.5, seq=7, change=20.0)
        (base / "entry-id").write_text(entry.id)
        meta = base / "outbox" / "pending" / (entry.id + ".json")
        (base / "meta-size").write_text(str(meta.stat().st_size))
        """,
    )
    entry_id = (tmp_path / "entry-id").read_text()
    pending = (tmp_path / "outbox" / "pending").resolve()
    assert_durable_write(calls, pending / f"{entry_id}.jpg", len(jpeg))
    meta_size = int((tmp_path / "meta-size").read_text())
    assert_durable_write(calls, pending / f"{entry_id}.json", meta_size)


def test_private_files_follow_the_same_order(tmp_path: Path) -> None:
    secret = b"s" * 1000
    calls = _trace(
        tmp_path,
        f"""
        from yardcam.durable import write_atomic
        write_atomic(base / "keys" / "secret", {secret!r})
        """,
    )
    assert_durable_write(calls, (tmp_path / "keys" / "secret").resolve(), len(secret))
