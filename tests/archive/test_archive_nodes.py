"""Several archive nodes on one storage stack: racing idempotency keys, a node killed mid-upload."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from archive.helpers import (
    MULTIPART_TYPE,
    Node,
    make_jpeg,
    new_token,
    raw_multipart,
    raw_upload_head,
    storage_args,
    stored_keys,
    unique_cam,
)
from serving import TLSFiles
from yardcam import requests
from yardcam.archive import ArchiveSettings


def metric(node_url: str, name: str, token: str) -> float:
    """A node-wide counter; ``token`` is a read token made without a cam."""
    text = requests.get(f"{node_url}/metrics", auth=requests.BearerAuth(token)).text
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    assert found, text
    return float(found.group(1))


def frames_of(node: Node, cam: str) -> list[dict]:
    r = requests.get(f"{node.url}/frames?cam={cam}", auth=requests.BearerAuth(node.read))
    assert r.status_code == 200
    return r.json()["frames"]


def test_two_nodes_racing_one_key_store_exactly_one_frame(
    settings: ArchiveSettings, start_node: Callable[[ArchiveSettings], Node]
) -> None:
    nodes = [start_node(settings), start_node(settings)]
    cam = unique_cam("race")
    token = new_token(settings, cam)
    senders = 6
    # Every request sends half its body, then all finish together, so their blobs are stored
    # at about the same time and the index insert alone picks the winner.
    barrier = threading.Barrier(senders)
    jpegs = [make_jpeg(160, 120, seed=i, noise=True) for i in range(senders)]

    def send(i: int) -> requests.Response:
        body = raw_multipart({"cam": cam, "ts": "1234.5"}, jpegs[i])

        def chunks() -> Iterator[bytes]:
            yield body[: len(body) // 2]
            barrier.wait(timeout=30)
            yield body[len(body) // 2 :]

        return requests.post(
            f"{nodes[i % 2].url}/frames",
            data=chunks(),
            headers={"Content-Type": MULTIPART_TYPE, "Idempotency-Key": "same-frame"},
            auth=requests.BearerAuth(token),
        )

    with ThreadPoolExecutor(senders) as pool:
        replies = list(pool.map(send, range(senders)))

    assert sorted(r.status_code for r in replies) == [200] * (senders - 1) + [201]
    winner = next(r.json() for r in replies if r.status_code == 201)
    assert {r.json()["id"] for r in replies} == {winner["id"]}
    assert {r.json()["sha256"] for r in replies} == {winner["sha256"]}
    assert [f["id"] for f in frames_of(nodes[0], cam)] == [winner["id"]]
    assert len(stored_keys(settings, cam)) == 1
    stored = requests.get(winner["url"], auth=requests.BearerAuth(nodes[1].read)).content
    assert stored in jpegs
    # Every loser stored a blob, lost the index insert, deleted its blob and answered 200.
    assert (
        sum(metric(n.url, "yardcam_frames_duplicate_total", n.read) for n in nodes) == senders - 1
    )


def _serve_subprocess(
    settings: ArchiveSettings, log: Path, *extra: str
) -> tuple[subprocess.Popen[bytes], int]:
    """``yardcam archive serve --port 0``: the node binds a free port itself and says which."""
    cmd = [
        sys.executable,
        "-m",
        "yardcam",
        "archive",
        "serve",
        "--port",
        "0",
        *storage_args(settings),
        "--max-frame-bytes",
        str(4 * 1024 * 1024),
        *extra,
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stderr=out, start_new_session=True)
    serving = re.compile(rb"serving https?://127\.0\.0\.1:(\d+)/")
    _wait_until(
        lambda: serving.search(log.read_bytes()) is not None or proc.poll() is not None,
        "the node to bind its port",
    )
    found = serving.search(log.read_bytes())
    assert found, f"archive serve exited at startup: {log.read_text()}"
    return proc, int(found.group(1))


def _wait_until(predicate: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _answers(url: str, verify: object = True) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=1, verify=verify).status_code == 200
    except OSError:
        return False


@pytest.mark.parametrize("stack", ["file+sqlite"], indirect=True)
def test_archive_serve_over_tls(
    settings: ArchiveSettings, tls_files: TLSFiles, tmp_path: Path
) -> None:
    token = new_token(settings, "yard")
    tls = ("--tls-cert", str(tls_files.cert_pem), "--tls-key", str(tls_files.key_pem))
    proc, port = _serve_subprocess(settings, tmp_path / "node.log", *tls)
    url = f"https://127.0.0.1:{port}"
    try:
        ca = str(tls_files.ca_pem)
        _wait_until(lambda: _answers(url, ca) or proc.poll() is not None, "the node to start")
        assert proc.poll() is None, "archive serve exited at startup"
        r = requests.post(
            f"{url}/frames",
            files={"image": make_jpeg()},
            auth=requests.BearerAuth(token),
            verify=ca,
        )
        assert r.status_code == 201, r.text
        assert r.json()["url"].startswith("https://")
        assert r.headers["Strict-Transport-Security"]
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_node_killed_mid_upload_leaves_nothing_listed(
    settings: ArchiveSettings, start_node: Callable[[ArchiveSettings], Node], tmp_path: Path
) -> None:
    cam = unique_cam("kill")
    token, reader = new_token(settings, cam), new_token(settings, None, "read")
    proc, port = _serve_subprocess(settings, tmp_path / "node.log")
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until(lambda: _answers(url) or proc.poll() is not None, "the node to start")
        assert proc.poll() is None, "archive serve exited at startup"
        jpeg = make_jpeg(640, 480, noise=True)
        body = raw_multipart({"cam": cam}, jpeg)
        assert len(jpeg) > 300_000
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(raw_upload_head(token, len(body), key="k1") + body[:300_000])
            _wait_until(
                lambda: metric(url, "yardcam_ingest_in_flight", reader) == 1,
                "the upload to be in flight",
            )
            if settings.blobs.startswith("file://"):
                temps = settings.data_dir / "blobs" / ".tmp"
                _wait_until(lambda: any(temps.glob("*.part")), "the partial blob on disk")
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    survivor = start_node(replace(settings, max_frame_bytes=4 * 1024 * 1024))
    assert frames_of(survivor, cam) == []
    assert stored_keys(settings, cam) == []
    assert requests.get(f"{survivor.url}/readyz").status_code == 200
    # The cam's retry of the same key is stored as new: the dead node recorded nothing.
    retry = requests.post(
        f"{survivor.url}/frames",
        data=body,
        headers={"Content-Type": MULTIPART_TYPE, "Idempotency-Key": "k1"},
        auth=requests.BearerAuth(token),
    )
    assert retry.status_code == 201, retry.text
    assert len(stored_keys(settings, cam)) == 1
    assert [f["id"] for f in frames_of(survivor, cam)] == [retry.json()["id"]]


@pytest.mark.parametrize("stack", ["file+sqlite"], indirect=True)
def test_client_gone_mid_upload_leaves_no_temp_file(node: Node) -> None:
    jpeg = make_jpeg(640, 480, noise=True)
    body = raw_multipart({"cam": "yard"}, jpeg)
    temps = node.settings.data_dir / "blobs" / ".tmp"
    with socket.create_connection(("127.0.0.1", node.running.port), timeout=10) as sock:
        sock.sendall(raw_upload_head(node.upload, len(body)) + body[:300_000])
        _wait_until(lambda: any(temps.glob("*.part")), "the partial blob on disk")
    _wait_until(
        lambda: metric(node.url, "yardcam_ingest_in_flight", node.read) == 0, "the upload to end"
    )
    assert not any(temps.glob("*.part"))
    assert frames_of(node, "yard") == []
    assert (
        'yardcam_ingest_rejections_total{reason="disconnect"} 1'
        in requests.get(f"{node.url}/metrics", auth=requests.BearerAuth(node.read)).text
    )
