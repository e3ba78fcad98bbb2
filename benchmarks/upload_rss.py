"""Peak RSS growth of one big ``files=`` upload, measured in a fresh interpreter.

Usage: ``python benchmarks/upload_rss.py {yardcam,requests} URL FILE`` prints one JSON line:
``{"client", "status", "size", "rss_before", "peak_rss", "growth"}`` (bytes). The client is
imported and warmed up with a small upload first, so ``growth`` is what the big upload itself
costs: the process's peak RSS after it minus its RSS just before it (an upper bound, since the
peak may include start-up). Used by ``client.py``'s memory section and by
``tests/requests/test_memory.py``.
"""

from __future__ import annotations

import gc
import importlib
import io
import json
import os
import resource
import sys

import psutil


def measure(client: str, url: str, path: str) -> dict[str, object]:
    requests = importlib.import_module("yardcam.requests" if client == "yardcam" else "requests")
    with requests.Session() as session:
        warm = session.post(url, files={"warm": ("w.bin", io.BytesIO(b"w" * 4096))}, timeout=30)
        warm.raise_for_status()
        gc.collect()
        before = psutil.Process().memory_info().rss
        with open(path, "rb") as f:
            response = session.post(url, files={"video": ("clip.bin", f)}, timeout=120)
        # ru_maxrss is in KiB on Linux.
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
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
