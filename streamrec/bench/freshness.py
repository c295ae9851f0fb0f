"""Freshness: from an event's acknowledgement to the first response that reflects it.

A probe POSTs one event of a brand-new user (no ``wait``), and as soon as the 202
arrives polls ``GET /v1/users/{id}/profile`` back to back until it answers 200: the
event is then applied to the online state that recommendations read. The time from
the 202 to that first 200 is the probe's staleness. Probes run against an idle warm
server and again while a producer ingests ``INGEST_RATE`` events per second.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import numpy as np

from streamrec.bench.common import BenchResult, Sizes, percentiles_ms
from streamrec.bench.loadgen import producing
from streamrec.bench.serve import INGEST_RATE, producer_bodies, warm
from streamrec.bench.server import serving
from streamrec.bench.workloads import WarmState

#: Pause between probes, so probes themselves are a negligible load.
PROBE_GAP_S = 0.02
#: A probe that is not visible after this long counts as this long (and is flagged).
PROBE_TIMEOUT_S = 5.0


def probe(client: httpx.Client, user_id: str, item_id: str, timestamp_ms: int) -> float:
    """Seconds from the acknowledgement of one event to its first visible profile."""
    event = {"user_id": user_id, "item_id": item_id, "type": "view", "timestamp": timestamp_ms}
    client.post("/v1/events", json=event).raise_for_status()
    acknowledged = time.perf_counter()
    while time.perf_counter() - acknowledged < PROBE_TIMEOUT_S:
        if client.get(f"/v1/users/{user_id}/profile").status_code == 200:
            return time.perf_counter() - acknowledged
    return PROBE_TIMEOUT_S


def _probes(client: httpx.Client, state: WarmState, label: str, count: int) -> np.ndarray:
    rng = np.random.default_rng(7)
    timestamp = int(state.follow_up.timestamp[0])
    latencies = []
    for n in range(count):
        item = state.item_ids[int(rng.integers(len(state.item_ids)))]
        latencies.append(probe(client, f"fresh-{label}-{n}", item, timestamp))
        time.sleep(PROBE_GAP_S)
    return np.asarray(latencies)


def run(sizes: Sizes, work_dir: Path) -> BenchResult:
    """Staleness p50/p99 of new events on an idle server and under steady ingest."""
    count = sizes.freshness_probes
    loaded_s = count * (PROBE_GAP_S + 0.01) + 5.0
    state = warm(sizes, work_dir / "freshness", loaded_s)
    result = BenchResult(
        "freshness",
        params={"probes": count, "users": len(state.user_ids), "ingest_rate": INGEST_RATE},
    )
    with (
        serving(state.data_dir, work_dir / "server.log") as url,
        httpx.Client(base_url=url, timeout=10.0) as client,
    ):
        _probes(client, state, "warmup", 5)
        idle = _probes(client, state, "idle", count)
        with producing(url, producer_bodies(state), INGEST_RATE) as producer:
            loaded = _probes(client, state, "loaded", count)
    for mode, latencies, rate in (
        ("idle", idle, 0.0),
        ("ingesting", loaded, producer.events_per_s),
    ):
        result.add(
            mode=mode,
            ingest_rate=rate,
            probes=len(latencies),
            **percentiles_ms(latencies),
            max_ms=float(latencies.max() * 1000.0),
            timed_out=int((latencies >= PROBE_TIMEOUT_S).sum()),
        )
    return result
