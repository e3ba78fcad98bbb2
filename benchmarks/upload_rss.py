"""Peak RSS growth of one big ``files=`` upload, measured in a fresh interpreter.

Usage: ``python benchmarks/upload_rss.py {yardcam,yardcam-async,requests} URL FILE`` prints
one JSON line: ``{"client", "status", "size", "rss_before", "peak_rss", "growth"}`` (bytes),
``yardcam-async`` being yardcam's AsyncSession. The client is
imported and warmed up with a small upload first, so ``growth`` is what the big upload itself
costs: the peak RSS during it minus the RSS just before it. Linux only: the peak is the kernel's
high-water mark (``VmHWM``), reset to the current RSS before the upload through
``/proc/self/clear_refs``; ``ru_maxrss`` would not do, as it keeps the peak of the process we
were forked from. Used by ``client.py``'s memory section: a figure, not a pass/fail test (the
streaming itself is tested by ``tests/requests/test_multipart.py``'s block-read checks).
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import io
import json
import os
import sys
from pathlib import Path

STATUS = Path("/proc/self/status")


def vm_bytes(field: str) -> int:
    """A ``/proc/self/status`` memory figure (``VmRSS``, ``VmHWM``), in bytes."""
    for line in STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in {STATUS}")


def reset_peak() -> int:
    """Reset the high-water mark to the current RSS, and return that RSS."""
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # 5: reset VmHWM (see proc(5))
    return vm_bytes("VmRSS")


def warm_files() -> dict[str, tuple[str, io.BytesIO]]:
    return {"warm": ("w.bin", io.BytesIO(b"w" * 4096))}


def sync_upload(module: str, url: str, path: str) -> tuple[int, int, int]:
    """(status, RSS before, peak RSS) of the upload through ``module.Session``."""
    requests = importlib.import_module(module)
    with requests.Session() as session:
        session.post(url, files=warm_files(), timeout=30).raise_for_status()
        before = reset_peak()
        with open(path, "rb") as f:
            status = session.post(url, files={"video": ("clip.bin", f)}, timeout=120).status_code
        return status, before, vm_bytes("VmHWM")


async def async_upload(url: str, path: str) -> tuple[int, int, int]:
    """(status, RSS before, peak RSS) of the upload through yardcam's AsyncSession."""
    from yardcam import requests

    async with requests.AsyncSession() as session:
        (await session.post(url, files=warm_files(), timeout=30)).raise_for_status()
        before = reset_peak()
        with open(path, "rb") as f:
            response = await session.post(url, files={"video": ("clip.bin", f)}, timeout=120)
        return response.status_code, before, vm_bytes("VmHWM")


def measure(client: str, url: str, path: str) -> dict[str, object]:
    if client == "yardcam-async":
        status, before, peak = asyncio.run(async_upload(url, path))
    else:
        status, before, peak = sync_upload(CLIENTS[client], url, path)
    return {
        "client": client,
        "status": status,
        "size": os.path.getsize(path),
        "rss_before": before,
        "peak_rss": peak,
        "growth": peak - before,
    }


CLIENTS = {"yardcam": "yardcam.requests", "requests": "requests"}

if __name__ == "__main__":
    print(json.dumps(measure(*sys.argv[1:4])))
