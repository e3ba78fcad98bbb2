"""Prometheus text exposition of this node's ingest counters (format 0.0.4, no client library)."""

from __future__ import annotations

import bisect
from collections import Counter

_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.ingested = 0
        self.duplicates = 0  # repeats of a stored key: their blob was deleted, the winner's id sent
        self.bytes = 0
        self.in_flight = 0
        self.rejections: Counter[str] = Counter()  # by reason code (the HTTP status)
        self._latency_counts = [0] * (len(_BUCKETS) + 1)
        self._latency_sum = 0.0

    def observe_ingest(self, seconds: float) -> None:
        self._latency_counts[bisect.bisect_left(_BUCKETS, seconds)] += 1
        self._latency_sum += seconds

    def render(self) -> str:
        lines = [
            "# HELP yardcam_frames_ingested_total Frames stored by this node.",
            "# TYPE yardcam_frames_ingested_total counter",
            f"yardcam_frames_ingested_total {self.ingested}",
            "# HELP yardcam_frames_duplicate_total Uploads answered by an earlier idempotency key.",
            "# TYPE yardcam_frames_duplicate_total counter",
            f"yardcam_frames_duplicate_total {self.duplicates}",
            "# HELP yardcam_ingested_bytes_total JPEG bytes stored by this node.",
            "# TYPE yardcam_ingested_bytes_total counter",
            f"yardcam_ingested_bytes_total {self.bytes}",
            "# HELP yardcam_ingest_in_flight Uploads being received right now.",
            "# TYPE yardcam_ingest_in_flight gauge",
            f"yardcam_ingest_in_flight {self.in_flight}",
            "# HELP yardcam_ingest_rejections_total Refused uploads by reason.",
            "# TYPE yardcam_ingest_rejections_total counter",
        ]
        for reason, count in sorted(self.rejections.items()):
            lines.append(f'yardcam_ingest_rejections_total{{reason="{reason}"}} {count}')
        lines += [
            "# HELP yardcam_ingest_seconds Time to receive and store one upload.",
            "# TYPE yardcam_ingest_seconds histogram",
        ]
        cumulative = 0
        for bound, count in zip((*_BUCKETS, float("inf")), self._latency_counts, strict=True):
            cumulative += count
            le = "+Inf" if bound == float("inf") else repr(bound)
            lines.append(f'yardcam_ingest_seconds_bucket{{le="{le}"}} {cumulative}')
        lines.append(f"yardcam_ingest_seconds_sum {self._latency_sum}")
        lines.append(f"yardcam_ingest_seconds_count {cumulative}")
        return "\n".join(lines) + "\n"
