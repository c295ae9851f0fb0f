"""``streamrec_build_info``: which streamrec version a process runs."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from streamrec import __version__


class BuildInfo(Collector):
    """A gauge of 1 labelled with the running version (and the process's role)."""

    def __init__(self, role: str) -> None:
        self.role = role

    def collect(self) -> Iterator[Metric]:
        """The one sample."""
        info = GaugeMetricFamily(
            "streamrec_build_info", "The streamrec version running", labels=["version", "role"]
        )
        info.add_metric([__version__, self.role], 1)
        yield info
