"""This node's ingest counters, exposed in the Prometheus text format by ``prometheus_client``.

The ingest path only bumps plain attributes (no locks, no library calls per upload); one
collector turns them into metric families at scrape time. Each node has its own registry, so
several apps in one process (tests, ``yardcam run``) never mix their figures.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics(Collector):
    def __init__(self) -> None:
        self.ingested = 0
        self.duplicates = 0  # repeats of a stored key: their blob was deleted, the winner's id sent
        self.bytes = 0
        self.in_flight = 0
        self.rejections: Counter[str] = Counter()  # by reason code (the HTTP status)
        self._latency_counts = [0] * (len(_BUCKETS) + 1)
        self._latency_sum = 0.0
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(self)

    def observe_ingest(self, seconds: float) -> None:
        self._latency_counts[bisect.bisect_left(_BUCKETS, seconds)] += 1
        self._latency_sum += seconds

    def render(self) -> str:
        return generate_latest(self._registry).decode()

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "yardcam_frames_ingested", "Frames stored by this node.", value=self.ingested
        )
        yield CounterMetricFamily(
            "yardcam_frames_duplicate",
            "Uploads answered by an earlier idempotency key.",
            value=self.duplicates,
        )
        yield CounterMetricFamily(
            "yardcam_ingested_bytes", "JPEG bytes stored by this node.", value=self.bytes
        )
        yield GaugeMetricFamily(
            "yardcam_ingest_in_flight", "Uploads being received right now.", value=self.in_flight
        )
        rejections = CounterMetricFamily(
            "yardcam_ingest_rejections", "Refused uploads by reason.", labels=["reason"]
        )
        for reason, count in sorted(self.rejections.items()):
            rejections.add_metric([reason], count)
        yield rejections
        cumulative, buckets = 0, []
        for bound, count in zip((*_BUCKETS, float("inf")), self._latency_counts, strict=True):
            cumulative += count
            buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
        yield HistogramMetricFamily(
            "yardcam_ingest_seconds",
            "Time to receive and store one upload.",
            buckets=buckets,
            sum_value=self._latency_sum,
        )
