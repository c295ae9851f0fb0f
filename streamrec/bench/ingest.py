"""Ingest throughput: events/s counted once durable *and* applied to the online state.

Three paths over the same batches, side by side in one run:

- ``log append`` — the embedded event log alone (durable, nothing applied): the
  ceiling the other two are compared with;
- ``engine ingest`` — ``Engine.ingest`` as ``streamrec ingest --data-dir`` does
  it (log append, the stream processor applies the events behind it);
- ``HTTP POST /v1/events`` — batches over real HTTP to a server process.

The same number of concurrent writers feed each path. The clock stops once every
batch is acknowledged (durable) and the lag is zero (every event applied): the
processor has caught up with the log's end (engine), or ``GET /readyz`` reports
``"lag": 0`` (HTTP).
"""

from __future__ import annotations

import dataclasses
import shutil
import statistics
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from streamrec.bench.common import BenchResult, Sizes, median_rows
from streamrec.bench.server import serving
from streamrec.bench.workloads import (
    SETTLE_TIMEOUT_S,
    compile_fold,
    movielens_batches,
    settle,
    shop,
    synthetic_batches,
    wire_body,
)
from streamrec.bootstrap import embedded_engine
from streamrec.config import LogSettings, Settings
from streamrec.events import EventBatch
from streamrec.log.embedded import EmbeddedEventLog
from streamrec.serving.http_server import HttpServer
from streamrec.state.base import CatalogItem

#: Concurrent writers on every path (the log commits their appends together).
WRITERS = 4


#: Pause between two ``/readyz`` lag polls.
LAG_POLL_S = 0.002


def _timed(
    send: Callable[[int], object], n_batches: int, until_applied: Callable[[], None]
) -> float:
    """Seconds to send every batch through ``WRITERS`` threads, then ``until_applied``."""
    started = time.perf_counter()
    with ThreadPoolExecutor(WRITERS) as pool:
        list(pool.map(send, range(n_batches)))
    until_applied()
    return time.perf_counter() - started


def log_append_seconds(batches: Sequence[EventBatch], directory: Path) -> float:
    """Seconds to append every batch durably to a fresh embedded log."""
    log = EmbeddedEventLog.open(directory, LogSettings())
    try:
        return _timed(lambda i: log.append(batches[i]), len(batches), lambda: None)
    finally:
        log.close()


def engine_ingest_seconds(
    batches: Sequence[EventBatch], catalog: Sequence[CatalogItem], data_dir: Path
) -> float:
    """Seconds for ``Engine.ingest`` to make every batch durable and applied."""
    engine = embedded_engine(Settings(data_dir=data_dir))

    try:
        engine.upsert_items(catalog)
        return _timed(lambda i: engine.ingest(batches[i]), len(batches), lambda: settle(engine))
    finally:
        engine.close()


def http_ingest_seconds(
    bodies: Sequence[bytes],
    catalog: Sequence[CatalogItem],
    data_dir: Path,
    log_path: Path,
    server: HttpServer | None = None,
) -> float:
    """Seconds for a server to accept every body durably and report a lag of zero."""
    headers = {"content-type": "application/json"}
    with (
        serving(data_dir, log_path, server=server) as url,
        httpx.Client(base_url=url, timeout=120) as client,
    ):
        items = [dataclasses.asdict(i) for i in catalog]
        for start in range(0, len(items), 5_000):
            client.post(
                "/v1/items", json={"items": items[start : start + 5_000]}
            ).raise_for_status()

        def send(i: int) -> None:
            client.post("/v1/events", content=bodies[i], headers=headers).raise_for_status()

        def until_lag_zero() -> None:
            deadline = time.monotonic() + SETTLE_TIMEOUT_S
            while client.get("/readyz").json()["lag"] > 0:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the server still lags after {SETTLE_TIMEOUT_S:.0f} s")
                time.sleep(LAG_POLL_S)

        return _timed(send, len(bodies), until_lag_zero)


def _measure(
    name: str,
    batches: list[EventBatch],
    catalog: list[CatalogItem],
    work_dir: Path,
    repeats: int,
) -> list[dict[str, object]]:
    bodies = [wire_body(b) for b in batches]
    compile_fold()
    events = sum(len(b) for b in batches)
    runs: dict[str, list[float]] = {"log append": [], "engine ingest": [], "HTTP POST": []}
    for repeat in range(repeats):
        base = work_dir / f"ingest-{name}-{repeat}"
        runs["log append"].append(log_append_seconds(batches, base / "log"))
        runs["engine ingest"].append(engine_ingest_seconds(batches, catalog, base / "engine"))
        runs["HTTP POST"].append(
            http_ingest_seconds(bodies, catalog, base / "http", work_dir / "server.log")
        )
        shutil.rmtree(base, ignore_errors=True)
    ceiling = events / statistics.median(runs["log append"])
    rows = []
    for path, seconds in runs.items():
        per_run = [{"events_per_s": events / s, "seconds": s} for s in seconds]
        row = median_rows(per_run)
        rows.append(
            {
                "dataset": name,
                "path": path,
                "events": events,
                "batch": len(batches[0]),
                **row,
                "ratio_to_log": row["events_per_s"] / ceiling,
            }
        )
    return rows


def run(sizes: Sizes, work_dir: Path, movielens: Path | None) -> BenchResult:
    """Ingest a synthetic stream (and MovieLens if given) along the three paths."""
    result = BenchResult("ingest", params={"writers": WRITERS, "repeats": sizes.serve_repeats})
    source = shop(sizes.serve_users, sizes.serve_items)
    batches = synthetic_batches(source, sizes.ingest_events, sizes.ingest_batch)
    for row in _measure("synthetic", batches, source.catalog(), work_dir, sizes.serve_repeats):
        result.add(**row)
    if movielens is not None:
        ml = movielens_batches(movielens, sizes.ingest_batch)
        for row in _measure(movielens.name, ml, [], work_dir, sizes.serve_repeats):
            result.add(**row)
    else:
        result.notes.append("MovieLens skipped: no --movielens folder given")
    result.notes.append("counted when every batch is durable and the lag is zero")
    return result
