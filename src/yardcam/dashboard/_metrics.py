"""``/metrics`` for the cam, in the Prometheus text format (via ``prometheus_client``).

Values are read from the detectors, hubs and uploaders at scrape time by one collector, so
nothing on the frame path pays for metrics. Each app has its own registry (no process-global
state: tests and several apps in one process never mix their figures).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ._monitor import FeedWatch

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _CamCollector(Collector):
    def __init__(self, watches: Sequence[FeedWatch]) -> None:
        self.watches = watches

    def collect(self) -> Iterator[Metric]:
        def family(kind: type, name: str, doc: str) -> CounterMetricFamily | GaugeMetricFamily:
            return kind(name, doc, labels=["camera"])  # type: ignore[no-any-return]

        frames = family(CounterMetricFamily, "yardcam_frames", "Frames measured by the detector.")
        skipped = family(
            CounterMetricFamily, "yardcam_skipped_frames", "Frames the detector was too busy for."
        )
        triggers = family(CounterMetricFamily, "yardcam_triggers", "Motion triggers.")
        fps = family(GaugeMetricFamily, "yardcam_detector_fps", "Frames measured per second.")
        change = family(GaugeMetricFamily, "yardcam_change", "Latest change measured (0..100).")
        threshold = family(GaugeMetricFamily, "yardcam_threshold", "Motion threshold (0..100).")
        up = family(GaugeMetricFamily, "yardcam_source_up", "1 while the source sends frames.")
        failures = family(
            CounterMetricFamily, "yardcam_source_failures", "Failed runs of the frame source."
        )
        pending = family(GaugeMetricFamily, "yardcam_outbox_pending", "Frames waiting to upload.")
        sent = family(CounterMetricFamily, "yardcam_outbox_sent", "Frames the archive accepted.")
        dead = family(
            GaugeMetricFamily, "yardcam_outbox_dead", "Frames the archive refused for good."
        )
        latency = family(
            GaugeMetricFamily, "yardcam_upload_latency_seconds", "Duration of the last upload."
        )
        for w in self.watches:
            name, d = [w.feed.name], w.feed.detector
            frames.add_metric(name, d.frame_count)
            skipped.add_metric(name, d.skipped)
            triggers.add_metric(name, d.triggers_total)  # not trigger_count: 'reset' zeroes that
            fps.add_metric(name, w.fps)
            change.add_metric(name, d.last_change)
            threshold.add_metric(name, d.threshold)
            up.add_metric(name, 1.0 if w.online else 0.0)
            failures.add_metric(name, w.feed.hub.failures)
            if w.feed.archive_stats is not None:
                stats = w.feed.archive_stats()
                pending.add_metric(name, _number(stats.get("pending")))
                sent.add_metric(name, _number(stats.get("sent")))
                dead.add_metric(name, _number(stats.get("dead_lettered")))
                if isinstance(stats.get("last_upload_seconds"), int | float):
                    latency.add_metric(name, _number(stats["last_upload_seconds"]))
        yield from (frames, skipped, triggers, fps, change, threshold, up, failures)
        yield from (pending, sent, dead, latency)


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def cam_registry(watches: Iterable[FeedWatch]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_CamCollector(list(watches)))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
