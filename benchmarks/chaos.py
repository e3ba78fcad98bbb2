"""Chaos: the cam and the archive under the failures that really happen, as one table.

Usage: ``.venv/bin/python benchmarks/chaos.py [--short] [--seed N] [--only NAME,...]``

Every scenario runs on 127.0.0.1 for a bounded time: a real cam process
(``tests/outbox/crash_cam.py``: synthetic frames, every one a trigger, through the real ``Uploader``
and ``Outbox``) uploads to real archive node processes (``tests/archive/node_process.py``, the
``yardcam archive serve`` app) through a fault proxy (``tests/fault_proxy.py``) while the scenario
breaks something; then everything is restored, the cam drains its outbox, and the invariant is
checked from storage (``tests/exactly_once.py``): every frame the cam accepted (stored durably in
its outbox) is in the archive exactly once and sha256-identical, or dead-lettered with its reason,
or counted as evicted by the outbox's bound. The table: scenario, frames accepted, archived,
duplicates, lost, dead-lettered, evicted, dropped (never accepted: the disk was full), the cam
loop's longest stall, seconds. Exit status 1 on any lost or duplicated frame (or any other broken
promise, printed under the table).

``--short`` (in the test suite: ``tests/test_chaos.py``) runs every scenario for a few seconds
(under 5 minutes in all on a 2-core box); the default long mode runs each for a minute at a
higher frame rate, for the README's table. ``--seed`` replays a run's schedule (the seed is
printed first).
The archive is plain HTTP on loopback here, so the proxy can answer for it; TLS is covered by
the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

# The tests' helpers, in place of this script's own directory: benchmarks/archive.py would
# shadow the tests' archive package (a namespace package loses to a module of the same name).
sys.path.remove(str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from archive.helpers import fresh_database, new_token
from archive.node_process import NodeProcess
from archive.servers import postgres_server, restart_postgres, seaweedfs_server
from disks import CannotMount, tmpfs
from exactly_once import Verdict, archived_frames, judge, read_ledger
from fault_proxy import FaultProxy
from yardcam.archive import ArchiveSettings
from yardcam.archive.storage import open_frame_index

CAM = Path(__file__).resolve().parents[1] / "tests" / "outbox" / "crash_cam.py"


@dataclass
class Pace:
    seconds: float  # how long each scenario's trouble lasts
    fps: float  # the cam's trigger rate
    kills: int  # cam kills in the kill scenario


SHORT = Pace(seconds=8, fps=20, kills=8)
LONG = Pace(seconds=60, fps=25, kills=40)


class Stacks:
    """Where archives keep their data: file+SQLite per scenario, or the shared scaled stack."""

    def __init__(self, work: Path, exit_stack: contextlib.ExitStack) -> None:
        self.work = work
        self._exit = exit_stack
        self._pg: str | None = None
        self._s3: str | None = None
        self.bucket = f"chaos-{random.randrange(1 << 30):x}"

    def file(self, name: str) -> ArchiveSettings:
        return ArchiveSettings.for_data_dir(self.work / name / "archive", purge_interval=0)

    def scaled(self, name: str) -> ArchiveSettings:
        if self._pg is None:
            self._pg = self._exit.enter_context(postgres_server())
            self._s3 = self._exit.enter_context(seaweedfs_server(self.work / "seaweedfs"))
        return ArchiveSettings.for_data_dir(
            self.work / name / "archive",
            blobs=f"s3://{self.bucket}?endpoint={self._s3}",
            index=fresh_database(self._pg),
            purge_interval=0,
        )


class Cam:
    """The cam process (crash_cam.py) and its outbox, ledger and token file."""

    def __init__(self, work: Path, name: str, url: str, token: str, *extra: str) -> None:
        self.dir = work / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.outbox, self.ledger = self.dir / "outbox", self.dir / "ledger"
        self.token_file = self.dir / "token"
        self.token_file.write_text(token)
        self.command = [sys.executable, str(CAM), "--outbox", str(self.outbox)]
        self.command += ["--ledger", str(self.ledger), "--url", f"{url}/frames"]
        self.command += ["--token", str(self.token_file), "--cam", name, *extra]
        self.proc: subprocess.Popen[bytes] | None = None
        self.runs = 0

    def start(self, fps: float) -> None:
        self.proc = subprocess.Popen([*self.command, "--fps", str(fps), "--seed", str(self.runs)])
        self.runs += 1

    def stop(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(30)

    def stored(self) -> int:
        return self.ledger.read_text().count("stored ") if self.ledger.exists() else 0

    def wait_stored(self, more_than: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.stored() <= more_than and time.monotonic() < deadline:
            time.sleep(0.02)

    def drain(self, timeout: float = 180) -> None:
        subprocess.run([*self.command, "--drain"], check=True, timeout=timeout)


@dataclass
class Row:
    name: str
    verdict: Verdict | None
    seconds: float
    error: str = ""


class Chaos:
    def __init__(self, pace: Pace, seed: int, work: Path, stacks: Stacks) -> None:
        self.pace = pace
        self.rng = random.Random(seed)
        self.work = work
        self.stacks = stacks

    @contextlib.contextmanager
    def setup(
        self, name: str, *, scaled: bool = False, nodes: int = 1, cam_args: tuple[str, ...] = ()
    ) -> Iterator[tuple[list[NodeProcess], FaultProxy, Cam, ArchiveSettings]]:
        settings = self.stacks.scaled(name) if scaled else self.stacks.file(name)
        running = [
            NodeProcess(settings, log=self.work / f"{name}-node{i}.log") for i in range(nodes)
        ]
        proxy = FaultProxy([n.port for n in running], seed=self.rng.randrange(1 << 30))
        try:
            for node in running:
                node.start()
            for node in running:
                node.wait_ready()
            fast = ("--timeout", "2", "5")  # the read default (30 s) would only slow the drain
            cam = Cam(self.work, name, proxy.url, new_token(settings, name), *fast, *cam_args)
            yield running, proxy, cam, settings
            cam.stop(signal.SIGTERM)  # a clean stop writes the cam's final evicted count
            proxy.set("forward")
            for node in running:
                if not node.running:
                    node.start()
            for node in running:
                node.wait_ready()
            cam.drain()
        finally:
            proxy.close()
            for node in running:
                node.close()

    def judge(self, cam: Cam, settings: ArchiveSettings) -> Verdict:
        archived = asyncio.run(archived_frames(settings, cam.name))
        verdict = judge(read_ledger(cam.ledger), archived, cam.outbox)
        if verdict.accepted == 0:  # a scenario that proved nothing must not pass
            problems = (*verdict.problems, "the cam accepted no frame at all")
            verdict = dataclasses.replace(verdict, problems=problems)
        return verdict

    def during(self, seconds: float, step: Callable[[], None]) -> None:
        """Run ``step`` again and again for ``seconds``."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            step()

    # -- scenarios ---------------------------------------------------------------------------

    def archive_killed_and_restarted(self) -> Verdict:
        with self.setup("archive-kills") as (nodes, _, cam, settings):
            cam.start(self.pace.fps)

            def step() -> None:
                time.sleep(self.rng.uniform(0.5, 2.0))
                nodes[0].kill()
                time.sleep(self.rng.uniform(0.1, 1.0))
                nodes[0].start()

            self.during(self.pace.seconds, step)
        return self.judge(cam, settings)

    def bursts_of_5xx_and_429(self) -> Verdict:
        with self.setup("5xx-429") as (_, proxy, cam, settings):
            cam.start(self.pace.fps)

            def step() -> None:
                proxy.set(self.rng.choice(["503", "429", "forward"]))
                time.sleep(self.rng.uniform(0.3, 1.5))

            self.during(self.pace.seconds, step)
        return self.judge(cam, settings)

    def archive_refuses_some_for_good(self) -> Verdict:
        with self.setup("refused-413") as (_, proxy, cam, settings):
            cam.start(self.pace.fps)

            def step() -> None:
                proxy.set("forward")
                time.sleep(self.rng.uniform(0.5, 2.0))
                proxy.set("413")  # every upload meanwhile is dead-lettered with its reason
                time.sleep(self.rng.uniform(0.1, 0.4))

            self.during(self.pace.seconds, step)
        return self.judge(cam, settings)

    def archive_never_answers(self) -> Verdict:
        with self.setup("hung-archive") as (_, proxy, cam, settings):
            cam.start(self.pace.fps)
            time.sleep(1)
            proxy.set("hang")
            time.sleep(self.pace.seconds)
            proxy.set("forward")
            time.sleep(2)
        return self.judge(cam, settings)

    def token_revoked_then_restored(self) -> Verdict:
        with self.setup("token-revoked") as (_, _, cam, settings):
            cam.start(self.pace.fps)
            time.sleep(1)
            token_id = cam.token_file.read_text().split("_")[1]
            asyncio.run(_revoke(settings, token_id))
            time.sleep(self.pace.seconds)  # uploads pause on 401, frames keep being accepted
            cam.token_file.write_text(new_token(settings, cam.name))  # rotated: no restart
            time.sleep(2)
        return self.judge(cam, settings)

    def cam_killed_mid_upload(self) -> Verdict:
        with self.setup("cam-kill-9") as (_, _, cam, settings):
            for _ in range(self.pace.kills):
                before = cam.stored()
                cam.start(self.pace.fps)
                cam.wait_stored(before)
                time.sleep(self.rng.uniform(0.0, 0.8))
                cam.stop(signal.SIGKILL)
        return self.judge(cam, settings)

    def cam_terminated_with_frames_queued(self) -> Verdict:
        with self.setup("cam-sigterm") as (nodes, _, cam, settings):
            for _ in range(max(2, self.pace.kills // 4)):
                nodes[0].kill()  # frames queue in the outbox
                before = cam.stored()
                cam.start(self.pace.fps)
                cam.wait_stored(before + 5)
                time.sleep(self.rng.uniform(0.5, 1.5))
                cam.stop(signal.SIGTERM)
                nodes[0].start()
                nodes[0].wait_ready()
        return self.judge(cam, settings)

    def two_scaled_nodes_one_killed(self) -> Verdict:
        with self.setup("2-nodes-s3-pg", scaled=True, nodes=2) as (nodes, _, cam, settings):
            cam.start(self.pace.fps)

            def step() -> None:
                victim = self.rng.choice(nodes)
                time.sleep(self.rng.uniform(0.5, 2.0))
                victim.kill()
                time.sleep(self.rng.uniform(0.5, 1.5))
                victim.start()

            self.during(self.pace.seconds, step)
        return self.judge(cam, settings)

    def postgres_restarted_under_load(self) -> Verdict:
        with self.setup("postgres-restart", scaled=True) as (_, _, cam, settings):
            cam.start(self.pace.fps)

            def step() -> None:
                time.sleep(self.rng.uniform(1.0, 3.0))
                restart_postgres(settings.index, down=self.rng.uniform(0.2, 1.5))

            self.during(self.pace.seconds, step)
        return self.judge(cam, settings)

    def outbox_at_its_byte_bound(self) -> Verdict:
        bound = ("--max-bytes", "400000")  # ~30 frames of this scene
        with self.setup("outbox-bound", cam_args=bound) as (nodes, _, cam, settings):
            nodes[0].kill()  # the archive is away: the outbox fills up and evicts the oldest
            cam.start(self.pace.fps)
            time.sleep(self.pace.seconds)
            nodes[0].start()
            time.sleep(2)
        return self.judge(cam, settings)

    def full_filesystem(self) -> Verdict:
        mount = self.work / "full-fs-disk"
        with tmpfs(mount, "4m"):
            with self.setup("full-fs") as (nodes, _, cam, settings):
                cam.outbox = mount / "outbox"  # the outbox on the small filesystem
                cam.command[cam.command.index("--outbox") + 1] = str(cam.outbox)
                nodes[0].kill()
                cam.start(self.pace.fps)
                cam.wait_stored(5)
                filler = mount / "filler"  # another program fills the disk for real
                with contextlib.suppress(OSError), filler.open("wb") as f:
                    while True:
                        f.write(b"\0" * 65536)
                time.sleep(self.pace.seconds)
                filler.unlink()
                before = cam.stored()
                cam.wait_stored(before + 5, timeout=20)  # storing resumes once there is room
                nodes[0].start()
                time.sleep(2)
            return self.judge(cam, settings)

    def slow_lossy_link(self) -> Verdict:
        with self.setup("slow-lossy-link") as (_, proxy, cam, settings):
            proxy.set("forward", rate=150_000, loss=0.1)
            cam.start(self.pace.fps)
            time.sleep(self.pace.seconds)
        return self.judge(cam, settings)

    SCENARIOS: ClassVar[dict[str, Callable[[Chaos], Verdict]]] = {
        "archive killed + restarted": archive_killed_and_restarted,
        "bursts of 5xx and 429": bursts_of_5xx_and_429,
        "413 bursts: refused for good": archive_refuses_some_for_good,
        "archive accepts, never answers": archive_never_answers,
        "token revoked, then rotated": token_revoked_then_restored,
        "cam SIGKILLed mid-upload": cam_killed_mid_upload,
        "cam SIGTERMed, frames queued": cam_terminated_with_frames_queued,
        "2 nodes S3+PG, one killed": two_scaled_nodes_one_killed,
        "PostgreSQL restarted": postgres_restarted_under_load,
        "outbox at its byte bound": outbox_at_its_byte_bound,
        "full filesystem (tmpfs)": full_filesystem,
        "slow lossy link": slow_lossy_link,
    }


async def _revoke(settings: ArchiveSettings, token_id: str) -> None:
    index = await open_frame_index(settings.index)
    try:
        assert await index.revoke_token(token_id)
    finally:
        await index.close()


def print_table(rows: list[Row]) -> None:
    head = (
        f"{'scenario':32} {'accepted':>8} {'archived':>8} {'dup':>4} {'lost':>4} "
        f"{'dead':>4} {'evicted':>7} {'dropped':>7} {'stall ms':>8} {'s':>4}"
    )
    print(head)
    print("-" * len(head))
    total = [0, 0, 0, 0, 0, 0, 0]
    for row in rows:
        v = row.verdict
        if v is None:
            print(f"{row.name:32} failed to run: {row.error}")
            continue
        figures = [v.accepted, v.archived, v.duplicates, v.lost, v.dead_lettered, v.evicted]
        figures.append(v.dropped)
        total = [a + b for a, b in zip(total, figures, strict=True)]
        print(
            f"{row.name:32} {v.accepted:8} {v.archived:8} {v.duplicates:4} {v.lost:4} "
            f"{v.dead_lettered:4} {v.evicted:7} {v.dropped:7} {v.longest_stall_ms:8.0f} "
            f"{row.seconds:4.0f}"
        )
    print("-" * len(head))
    print(
        f"{'total':32} {total[0]:8} {total[1]:8} {total[2]:4} {total[3]:4} {total[4]:4} "
        f"{total[5]:7} {total[6]:7}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", action="store_true", help="a few seconds per scenario (CI)")
    parser.add_argument("--seed", type=int, default=None, help="replay a run's schedule")
    parser.add_argument("--only", help="comma-separated scenario name prefixes")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    pace = SHORT if args.short else LONG
    print(f"chaos: seed {seed} (replay: --seed {seed}), {'short' if args.short else 'long'} mode")
    chosen = {
        name: run
        for name, run in Chaos.SCENARIOS.items()
        if not args.only or any(name.startswith(p.strip()) for p in args.only.split(","))
    }
    rows: list[Row] = []
    work = Path(tempfile.mkdtemp(prefix="yardcam-chaos-"))
    try:
        with contextlib.ExitStack() as exit_stack:
            chaos = Chaos(pace, seed, work, Stacks(work, exit_stack))
            for name, run in chosen.items():
                print(f"==> {name}", flush=True)
                started = time.monotonic()
                try:
                    verdict = run(chaos)
                    rows.append(Row(name, verdict, time.monotonic() - started))
                except CannotMount as exc:
                    rows.append(Row(name, None, 0, f"{exc} (run as root)"))
                except Exception as exc:  # a scenario that breaks is a failed row, not a crash
                    rows.append(Row(name, None, time.monotonic() - started, repr(exc)))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print()
    print_table(rows)
    failed = [r for r in rows if r.verdict is None or not r.verdict.ok]
    for row in failed:
        problems = row.verdict.problems if row.verdict else (row.error,)
        for problem in problems:
            print(f"FAILED {row.name}: {problem}")
    print(f"chaos: seed {seed}: {'FAILED' if failed else 'every accepted frame accounted for'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
