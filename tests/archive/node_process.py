"""A real archive node in its own process, on a socket the test bound once (port 0) and keeps.

Crash and chaos tests kill the node with SIGKILL and start it again on the same address. The
listening socket belongs to the test and is handed to every node process it starts
(``pass_fds``), so the port is never released and re-reserved (``free_port`` and then binding
it later can race with any other process). While no node runs, new connections wait in the
socket's accept queue and are served by the next node, as behind a load balancer; connections
the killed node had accepted are reset.

Run as a script, it is that node: ``python node_process.py --fd N --data-dir D --blobs URL
--index URL [--tls-cert C --tls-key K]`` serves ``yardcam.archive.create_app`` on fd ``N``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from yardcam.archive import ArchiveSettings

if TYPE_CHECKING:
    from serving import TLSFiles

HERE = Path(__file__).resolve()


class NodeProcess:
    """Start, kill and restart one archive node process on a port that stays bound."""

    def __init__(
        self,
        settings: ArchiveSettings,
        *,
        tls: TLSFiles | None = None,
        log: Path | None = None,
    ) -> None:
        self.settings = settings
        self.tls = tls
        self.log = log
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=256)
        self.port: int = self.listener.getsockname()[1]
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def command(self) -> list[str]:
        s = self.settings
        cmd = [sys.executable, str(HERE), "--fd", str(self.listener.fileno())]
        cmd += ["--data-dir", str(s.data_dir), "--blobs", s.blobs, "--index", s.index]
        if self.tls is not None:
            cmd += ["--tls-cert", str(self.tls.cert_pem), "--tls-key", str(self.tls.key_pem)]
        return cmd

    def start(self) -> None:
        """Start a node process (not waiting for it: connections queue until it serves)."""
        assert self.proc is None or self.proc.poll() is not None, "a node is already running"
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115
        try:
            self.proc = subprocess.Popen(
                self.command(),
                pass_fds=[self.listener.fileno()],
                stdout=out,
                stderr=subprocess.STDOUT if self.log else None,
                start_new_session=True,
            )
        finally:
            if self.log:
                out.close()
        self.starts += 1

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=30)

    def wait_ready(self, timeout: float = 60) -> None:
        """Poll ``/readyz`` until the node answers 200; fail early if it exited."""
        from yardcam import requests

        verify = str(self.tls.ca_pem) if self.tls is not None else True
        deadline = time.monotonic() + timeout
        while True:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"the archive node exited ({self.proc and self.proc.poll()})")
            try:
                r = requests.get(f"{self.url}/readyz", timeout=1, verify=verify)
                if r.status_code == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the archive node at {self.url} did not become ready")
            time.sleep(0.05)

    def close(self) -> None:
        self.kill()
        self.listener.close()

    def __enter__(self) -> NodeProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _serve(argv: list[str]) -> None:
    from yardcam.archive import create_app
    from yardcam.web import Server, raise_open_file_limit

    parser = argparse.ArgumentParser()
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--blobs", required=True)
    parser.add_argument("--index", required=True)
    parser.add_argument("--tls-cert", type=Path)
    parser.add_argument("--tls-key", type=Path)
    args = parser.parse_args(argv)
    settings = ArchiveSettings.for_data_dir(
        args.data_dir, blobs=args.blobs, index=args.index, purge_interval=0, secure_cookies=False
    )
    tls = (args.tls_cert, args.tls_key) if args.tls_cert else None
    raise_open_file_limit()  # as 'yardcam archive serve' does
    Server(create_app(settings), name="archive", tls=tls).run(
        sockets=[socket.socket(fileno=args.fd)]
    )


if __name__ == "__main__":
    _serve(sys.argv[1:])
