"""Peak RSS growth of one big ``files=`` upload, measured in a fresh interpreter.

Usage: ``python benchmarks/upload_rss.py {yardcam,requests} URL FILE`` prints one JSON line:
``{"client", "status", "size", "rss_before", "peak_rss", "growth"}`` (bytes). The client is
imported and warmed up with a small upload first, so ``growth`` is what the big upload itself
costs: the peak RSS during it minus the RSS just before it. Linux only: the peak is the kernel's
high-water mark (``VmHWM``), reset to the current RSS before the upload through
``/proc/self/clear_refs``; ``ru_maxrss`` would not do, as it keeps the peak of the process we
were forked from. Used by ``client.py``'s memory section and by ``tests/requests/test_memory.py``.
"""

from __future__ import annotations

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


def measure(client: str, url: str, path: str) -> dict[str, object]:
    requests = importlib.import_module("yardcam.requests" if client == "yardcam" else "requests")
    with requests.Session() as session:
        warm = session.post(url, files={"warm": ("w.bin", io.BytesIO(b"w" * 4096))}, timeout=30)
        warm.raise_for_status()
        gc.collect()
        Path("/proc/self/clear_refs").write_text("5")  # 5: reset VmHWM to the current RSS
        before = vm_bytes("VmRSS")
        with open(path, "rb") as f:
            response = session.post(url, files={"video": ("clip.bin", f)}, timeout=120)
        peak = vm_bytes("VmHWM")
    return {
        "client": client,
        "status": response.status_code,
        "size": os.path.getsize(path),
        "rss_before": before,
        "peak_rss": peak,
        "growth": peak - before,
    }


if __name__ == "__main__":
    print(json.dumps(measure(*sys.argv[1:4])))
