"""Serving throughput and latency over real HTTP, with the trivial endpoint as ceiling.

A server process holds a warm engine (``serve_users`` profiles over
``serve_items`` items). At each connection count, side by side and repeated
(medians quoted), the load generator hits

- ``GET /healthz`` — the same server stack doing no work: the ceiling;
- ``GET /v1/users/{id}/recommendations?k=10`` for random users with a profile;
- the same while a producer process POSTs events at ``INGEST_RATE`` per second.
"""

from __future__ import annotations

from pathlib import Path

from streamrec.bench.common import BenchResult, Row, Sizes, median_rows
from streamrec.bench.loadgen import Generator, producing, resolve_generator, run_load
from streamrec.bench.server import serving
from streamrec.bench.workloads import WarmState, warm_data_dir, wire_body

INGEST_RATE = 1_000.0
RECOMMEND = "/v1/users/{}/recommendations?k=10"
HEALTHZ = "/healthz"
#: Events per POST of the background producer (a tenth of a second at 1,000/s).
PRODUCER_BATCH = 100


def warm(sizes: Sizes, directory: Path, follow_up_seconds: float) -> WarmState:
    """A warm data directory, with enough follow-up events for ``follow_up_seconds``."""
    return warm_data_dir(
        directory,
        sizes.serve_users,
        sizes.serve_items,
        max_events=sizes.serve_events,
        follow_up_events=int(INGEST_RATE * follow_up_seconds) + PRODUCER_BATCH,
    )


def producer_bodies(state: WarmState) -> list[tuple[bytes, int]]:
    """The follow-up events as POST bodies with their counts."""
    return [(wire_body(b), len(b)) for b in state.follow_up_batches(PRODUCER_BATCH)]


def run(sizes: Sizes, work_dir: Path, generator: Generator = "auto") -> BenchResult:
    """Measure ``/healthz`` and recommendations at each connection count, idle and ingesting."""
    tool = resolve_generator(generator)
    loaded_s = sizes.serve_duration_s * sizes.serve_repeats * len(sizes.connections)
    state = warm(sizes, work_dir / "serve", loaded_s + 5.0)
    result = BenchResult(
        "serve",
        params={
            "generator": tool,
            "users": len(state.user_ids),
            "items": len(state.item_ids),
            "warm_events": state.events,
            "duration_s": sizes.serve_duration_s,
            "ingest_rate": INGEST_RATE,
        },
    )
    runs: dict[tuple[str, int], list[Row]] = {}

    def measure(mode: str, path: str, connections: int) -> None:
        ids = state.user_ids if "{}" in path else []
        load = run_load(tool, url, path, ids, connections, sizes.serve_duration_s)
        runs.setdefault((mode, connections), []).append(load.as_row())

    with serving(state.data_dir, work_dir / "server.log") as url:
        run_load(tool, url, RECOMMEND, state.user_ids, 8, 1.0)  # warm caches and pools
        for _ in range(sizes.serve_repeats):
            for connections in sizes.connections:
                measure("healthz", HEALTHZ, connections)
                measure("recommendations", RECOMMEND, connections)
        with producing(url, producer_bodies(state), INGEST_RATE) as producer:
            for _ in range(sizes.serve_repeats):
                for connections in sizes.connections:
                    measure("recommendations + ingest", RECOMMEND, connections)
    result.params["achieved_ingest_rate"] = producer.events_per_s
    for (mode, connections), rows in runs.items():
        row = median_rows(rows)
        ceiling = median_rows(runs[("healthz", connections)])["req_per_s"]
        result.add(
            mode=mode, connections=connections, **row, ratio_to_healthz=row["req_per_s"] / ceiling
        )
    return result
