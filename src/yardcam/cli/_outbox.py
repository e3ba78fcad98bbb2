"""``yardcam outbox list | retry | drain``: the cam's queue of frames waiting for the archive.

``list`` only reads (it works beside a running cam); ``retry`` and ``drain`` change the outbox,
so they take the data directory's lock and refuse while ``yardcam run`` holds it (a running
cam already sends everything pending; stop it first to intervene by hand).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from yardcam.config import CamConfig
from yardcam.outbox import Entry, TokenSource, Uploader
from yardcam.run import open_outbox, outbox_dir

from ._hints import same_place
from ._plural import counted
from ._progress import progress_bar

LoadConfig = Callable[[argparse.Namespace], CamConfig]


def register(subparsers: Any, load: LoadConfig, *, prog: str, parents: list[Any]) -> None:
    outbox = subparsers.add_parser(
        "outbox",
        help="the cam's queue of frames waiting for the archive: list, retry, drain",
        epilog=f"examples:\n  {prog} outbox list\n  {prog} outbox retry --all      "
        f"# refused frames back in the queue\n  {prog} outbox drain            "
        "# send everything now (the cam stopped)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = outbox.add_subparsers(dest="outbox_command", required=True)
    listing = sub.add_parser("list", parents=parents, help="pending and dead-lettered frames")
    listing.set_defaults(func=lambda args: _list(load(args)))
    retry = sub.add_parser(
        "retry", parents=parents, help="put dead-lettered frames back in the queue"
    )
    retry.add_argument("ids", nargs="*", metavar="ID", help="frame ids (see 'outbox list')")
    retry.add_argument("--all", action="store_true", help="every dead-lettered frame")
    retry.set_defaults(func=lambda args: _retry(args, load(args), prog))
    drain = sub.add_parser(
        "drain", parents=parents, help="send every pending frame now, with a progress bar"
    )
    drain.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="give up after this many seconds without progress (default 60)",
    )
    drain.set_defaults(func=lambda args: _drain(args, load(args), prog))


def _list(config: CamConfig) -> int:
    """Read the entries' metadata without opening the outbox (opening recovers, i.e. writes)."""
    directory = outbox_dir(config)
    pending = _read(directory / "pending")
    dead = _read(directory / "dead")
    for entry, _ in pending:
        due = "now" if entry.next_attempt <= time.time() else _when(entry.next_attempt)
        error = f"  last error: {entry.last_error}" if entry.last_error else ""
        print(
            f"pending  {entry.id}  {_when(entry.ts)}  {entry.size} B  "
            f"attempts {entry.attempts}, next {due}{error}"
        )
    for entry, extra in dead:
        print(
            f"dead     {entry.id}  {_when(entry.ts)}  {entry.size} B  "
            f"refused: {extra.get('reason')}"
        )
    print(
        f"{len(pending)} pending ({sum(e.size for e, _ in pending)} bytes), {len(dead)} dead "
        f"in {directory}",
        file=sys.stderr,
    )
    return 0


def _read(directory: Path) -> list[tuple[Entry, dict[str, Any]]]:
    found = []
    for meta in sorted(directory.glob("*.json")):
        with contextlib.suppress(OSError, ValueError):
            found.append(Entry.from_json(meta.read_bytes()))
    return sorted(found, key=lambda item: (item[0].ts, item[0].seq))


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def _locked(config: CamConfig) -> str | None:
    """Take the data directory's lock; the refusal to print if a cam holds it."""
    from yardcam.run import CannotStart, lock_data_dir

    try:
        lock_data_dir(
            config.data_dir,
            "a running cam sends its outbox by itself; to change it by hand, stop that one "
            "first (Ctrl-C where it runs, or kill -TERM that pid), then run this again",
        )
    except CannotStart as exc:
        return str(exc)
    return None


def _retry(args: argparse.Namespace, config: CamConfig, prog: str) -> int:
    if not args.ids and not args.all:
        print(f"{prog} outbox retry: name frame ids, or --all", file=sys.stderr)
        return 2
    if (refusal := _locked(config)) is not None:
        print(f"{prog} outbox retry: {refusal}", file=sys.stderr)
        return 1
    outbox = open_outbox(config)
    ids = [d.id for d in outbox.dead_letters()] if args.all else args.ids
    revived = [entry_id for entry_id in ids if outbox.revive(entry_id) is not None]
    for entry_id in set(ids) - set(revived):
        print(f"{prog} outbox retry: no dead-lettered frame {entry_id}", file=sys.stderr)
    print(f"{counted(len(revived), 'frame')} back in the queue: sent on the next start or drain")
    return 0 if len(revived) == len(ids) else 1


def _drain(args: argparse.Namespace, config: CamConfig, prog: str) -> int:
    if (refusal := _locked(config)) is not None:
        print(f"{prog} outbox drain: {refusal}", file=sys.stderr)
        return 1
    if config.archive_url is None or config.token_file is None:
        print(
            f"{prog} outbox drain: this cam uses its embedded archive, which runs inside "
            f"'{prog} run{same_place(args)}': start that and the outbox drains by itself",
            file=sys.stderr,
        )
        return 2
    again = f"{prog} outbox drain{same_place(args)}"
    return asyncio.run(_send_all(config, args.timeout, prog, again))


async def _send_all(config: CamConfig, timeout: float, prog: str, again: str) -> int:
    """Send the outbox; ``again``: the command that does it once more, for the give-up line."""
    assert config.archive_url is not None and config.token_file is not None
    outbox = open_outbox(config)
    total = len(outbox)
    uploader = Uploader(
        outbox,
        config.archive_url,
        cam=config.cameras[0].name,
        token=TokenSource(config.token_file),
        verify=str(config.ca_bundle) if config.ca_bundle else True,
        concurrency=config.outbox.concurrency,
        retry_interval=min(config.outbox.retry_interval, 2.0),
    )
    running = asyncio.create_task(uploader.run())
    last, stalled_since = -1, time.monotonic()
    with progress_bar("frames", total) as bar:
        while len(outbox) and not running.done():
            settled = total - len(outbox)
            if settled != last:
                bar.update(settled - max(last, 0))
                last, stalled_since = settled, time.monotonic()
            elif time.monotonic() - stalled_since > timeout:
                break
            await asyncio.sleep(0.2)
        bar.update(total - len(outbox) - max(last, 0))
    await uploader.close(grace=5.0)
    with contextlib.suppress(asyncio.CancelledError):
        await running
    stats = uploader.stats()
    left = len(outbox)
    print(f"sent {stats['sent']}, dead-lettered {stats['dead_lettered']}, {left} still pending")
    if left:
        print(
            f"{prog} outbox drain: gave up after {timeout:g} s "
            f"without progress; archive {stats['state']}: {stats['last_error']}; the frames "
            f"stay queued: once {config.archive_url} answers (archive_url and token_file in "
            f"the configuration), run '{again}' again, or start the cam",
            file=sys.stderr,
        )
        return 1
    return 0
