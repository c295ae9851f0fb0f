"""What the metrics and drift monitoring cost on the paths they watch.

Usage: ``python scripts/measure_metrics_overhead.py [--rounds N]``

Each figure is measured side by side with the work it is added to, in one run,
alternating the two in every round; the report gives the median of the rounds:

- the request middleware (RequestTimer: latency by route, method and status, errors by
  code) around a trivial ASGI app, against the bare app and against the previous
  middleware (latency by route only, ``labels(route).observe`` per request);
- the processor's observers (consumer metrics, freshness, drift) per applied batch,
  against applying the same batch to a memory state;
- the ingest-side acceptance clock and event counters per POSTed batch of 100;
- the served-score drift per list of 10, against the recommendation itself;
- one cache-counter increment, against a cached neighbour-row read;
- one ``/metrics`` exposition of an embedded engine.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import orjson
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, Histogram

from streamrec.config import DriftSettings, Settings
from streamrec.datasets import SyntheticShop
from streamrec.engine import Engine
from streamrec.events import EventBatch, decode_events
from streamrec.monitoring.consumers import ConsumerMetrics
from streamrec.processing.drift_monitor import DriftMonitor
from streamrec.serving.app import create_app
from streamrec.serving.metrics import ApiMetrics, RequestTimer
from streamrec.state.cache_counts import CacheCounts
from streamrec.state.memory import MemoryState


def per_call(run: Callable[[], Any], calls: int) -> float:
    """Seconds per call of ``run`` over ``calls`` calls."""
    started = time.perf_counter()
    for _ in range(calls):
        run()
    return (time.perf_counter() - started) / calls


def side_by_side(
    name: str, base: Callable[[], Any], added: Callable[[], Any], calls: int, rounds: int
) -> None:
    """Print the medians of ``base`` and ``added`` per call, measured alternately."""
    bases, addeds = [], []
    for _ in range(rounds):
        bases.append(per_call(base, calls))
        addeds.append(per_call(added, calls))
    b, a = statistics.median(bases), statistics.median(addeds)
    print(f"{name:58s} {b * 1e6:10.2f} us {a * 1e6:10.2f} us  ({a / b:6.1%} of the base)")


class RouteOnlyTimer:
    """The middleware before RequestTimer counted statuses and errors, for comparison."""

    def __init__(self, app: Any, histogram: Histogram) -> None:
        self.app = app
        self.histogram = histogram

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.histogram.labels(route).observe(time.perf_counter() - started)


async def _ok(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


def middleware(rounds: int) -> None:
    metrics = ApiMetrics(lambda: None)
    timed = RequestTimer(_ok, metrics.requests)
    scope = {"type": "http", "method": "GET", "path": "/v1/items/popular"}
    loop = asyncio.new_event_loop()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request"}

    async def send(message: Any) -> None:
        return None

    async def many(app: Any, n: int) -> None:
        for _ in range(n):
            await app(scope, receive, send)

    previous = RouteOnlyTimer(
        _ok, Histogram("seconds", "by route", ["route"], registry=CollectorRegistry())
    )
    n = 2_000
    bare, before, now = [], [], []
    for _ in range(rounds):
        bare.append(per_call_async(loop, lambda: many(_ok, n), n))
        before.append(per_call_async(loop, lambda: many(previous, n), n))
        now.append(per_call_async(loop, lambda: many(timed, n), n))
    b, p, t = (statistics.median(x) * 1e6 for x in (bare, before, now))
    print(f"{'request: bare / route-only timer / RequestTimer':58s} {b:.2f} / {p:.2f} / {t:.2f} us")
    loop.close()


def per_call_async(loop: asyncio.AbstractEventLoop, run: Any, n: int) -> float:
    started = time.perf_counter()
    loop.run_until_complete(run())
    return (time.perf_counter() - started) / n


def processor(rounds: int) -> None:
    shop = SyntheticShop(n_users=20_000, n_items=5_000, seed=3)
    settings = Settings()
    for size in (1_000, 20_000):
        batches = list(shop.events(size * 12, chunk_size=size))  # unlogged: always applied
        state = MemoryState(settings)
        for batch in batches[:2]:  # compile the fold first
            state.apply(batch)
        metrics = ConsumerMetrics("g", dict, freshness=True)
        drift = DriftMonitor(DriftSettings(), lambda ids: [None] * len(ids))
        queue = iter(batches[2:] * rounds * 10)
        logged = [
            b.with_positions(np.arange(i * size, (i + 1) * size)) for i, b in enumerate(batches)
        ]
        observed = iter(logged[2:] * rounds * 10)

        def apply(state: MemoryState = state, queue: Any = queue) -> None:
            state.apply(next(queue))

        def observe(
            metrics: ConsumerMetrics = metrics,
            drift: DriftMonitor = drift,
            observed: Any = observed,
        ) -> None:
            batch = next(observed)
            metrics.applied(batch, 0.001)
            drift.applied(batch)

        side_by_side(
            f"processor: observers, batch of {size:,} (base: apply)", apply, observe, 1, rounds * 10
        )


def ingest_side(rounds: int) -> None:
    batch = next(iter(SyntheticShop(seed=4).events(100, chunk_size=100)))
    body = orjson.dumps({"events": list(batch.records())})
    logged = batch.with_positions(np.arange(100))
    consumer = ConsumerMetrics("g", dict, freshness=True)
    assert consumer.acceptance is not None
    api = ApiMetrics(lambda: None)
    acceptance = consumer.acceptance

    def counted() -> None:
        acceptance.accepted(logged)
        api.events.accepted(logged)

    side_by_side(
        "ingest: acceptance clock + counters, batch of 100 (base: decode)",
        lambda: EventBatch.from_events(decode_events(body, 10_000)),
        counted,
        500,
        rounds,
    )


def serving(rounds: int) -> None:
    shop = SyntheticShop(n_users=5_000, n_items=2_000, seed=5)
    settings = Settings()
    plain = Engine(settings, MemoryState(settings))
    for batch in shop.events(100_000, chunk_size=10_000):
        plain.state.apply(batch)
    drift = DriftMonitor(DriftSettings(), lambda ids: [None] * len(ids))
    users = iter([f"u{i}" for i in range(0, 5_000, 7)] * 1000)
    scores = [item.score for item in plain.recommend("u1", 10).items]
    side_by_side(
        "serving: served-score drift of a list of 10 (base: recommend)",
        lambda: plain.recommend(next(users), 10),
        lambda: drift.served(scores),
        200,
        rounds,
    )
    state = plain.state
    item = state.items.names(np.array([0]))[0]
    state.neighbors([item], 10)
    counts = CacheCounts()

    def increment() -> None:
        counts.hits += 1

    side_by_side(
        "cache: one counter increment (base: cached neighbour read)",
        lambda: state.neighbors([item], 10),
        increment,
        20_000,
        rounds,
    )


def scrape(rounds: int, tmp: str) -> None:
    with TestClient(create_app(Settings(data_dir=tmp))) as client:
        for batch in SyntheticShop(seed=6).events(5_000, chunk_size=500):
            client.post("/v1/events?wait=true", json={"events": list(batch.records())})
        for user in range(50):
            client.get(f"/v1/users/u{user}/recommendations")
        metrics = client.app.state.metrics  # type: ignore[attr-defined]
        timings = [per_call(metrics.exposition, 50) for _ in range(rounds)]
        size = len(metrics.exposition())
    print(
        f"{'scrape: one /metrics exposition of an embedded engine':58s} "
        f"{statistics.median(timings) * 1e3:10.2f} ms ({size:,} bytes)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    print(f"{'':58s} {'base':>13s} {'added':>13s}")
    middleware(args.rounds)
    processor(args.rounds)
    ingest_side(args.rounds)
    serving(args.rounds)
    with tempfile.TemporaryDirectory() as tmp:
        scrape(args.rounds, tmp)


if __name__ == "__main__":
    main()
