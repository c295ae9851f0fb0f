"""Serving throughput and latency over real HTTP, with the trivial endpoint as ceiling.

A server process holds a warm engine (``serve_users`` profiles over
``serve_items`` items). At each connection count, side by side and repeated
(medians quoted), the load generator hits

- ``GET /healthz`` — the same server stack doing no work: the ceiling;
- ``GET /v1/users/{id}/recommendations?k=10`` for random users with a profile;
- the same while a producer process POSTs events at ``INGEST_RATE`` per second;

and, at :data:`TARGET_CONNECTIONS` (or the most connections below it), similar
items of random items and popular items. ``serve-latency.png`` draws p50 and p99
against the number of connections.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from streamrec.bench.common import BenchResult, Row, Sizes, median_rows
from streamrec.bench.loadgen import Generator, producing, resolve_generator, run_load
from streamrec.bench.server import serving
from streamrec.bench.workloads import WarmState, warm_data_dir, wire_body
from streamrec.extras import import_extra

INGEST_RATE = 1_000.0
RECOMMEND = "/v1/users/{}/recommendations?k=10"
HEALTHZ = "/healthz"
SIMILAR = "/v1/items/{}/similar?k=10"
POPULAR = "/v1/items/popular?k=10"
#: The connection count the targets are stated at.
TARGET_CONNECTIONS = 32
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


def run(sizes: Sizes, work_dir: Path, out_dir: Path, generator: Generator = "auto") -> BenchResult:
    """Measure ``/healthz`` and the lists at each connection count, idle and ingesting.

    Draws ``serve-latency.png`` in ``out_dir``.
    """
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

    ids = {RECOMMEND: state.user_ids, SIMILAR: state.item_ids}
    target = target_connections(sizes.connections)

    def measure(mode: str, path: str, connections: int) -> None:
        load = run_load(tool, url, path, ids.get(path, []), connections, sizes.serve_duration_s)
        runs.setdefault((mode, connections), []).append(load.as_row())

    with serving(state.data_dir, work_dir / "server.log") as url:
        for path in (RECOMMEND, SIMILAR, POPULAR):  # warm caches and pools
            run_load(tool, url, path, ids.get(path, []), 8, 1.0)
        for _ in range(sizes.serve_repeats):
            for connections in sizes.connections:
                measure("healthz", HEALTHZ, connections)
                measure("recommendations", RECOMMEND, connections)
            measure("similar", SIMILAR, target)
            measure("popular", POPULAR, target)
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
    plot(result, out_dir)
    return result


def target_connections(counts: Sequence[int]) -> int:
    """:data:`TARGET_CONNECTIONS`, or the most connections measured below it."""
    return max([c for c in counts if c <= TARGET_CONNECTIONS] or [min(counts)])


def plot(result: BenchResult, out_dir: Path) -> Path:
    """Draw p50 and p99 latency against connections per mode; the PNG path."""
    matplotlib = import_extra("matplotlib", "models", "the serve benchmark's plot")
    matplotlib.use("Agg")
    plt = import_extra("matplotlib.pyplot", "models", "the serve benchmark's plot")
    out_dir.mkdir(parents=True, exist_ok=True)
    figure, axes = plt.subplots(figsize=(6.5, 4))
    for mode in ("healthz", "recommendations", "recommendations + ingest"):
        rows = sorted((r for r in result.rows if r["mode"] == mode), key=lambda r: r["connections"])
        connections = [r["connections"] for r in rows]
        for key, style in (("p50_ms", "-"), ("p99_ms", "--")):
            label = f"{mode} {key.removesuffix('_ms')}"
            axes.plot(connections, [r[key] for r in rows], style, marker="o", label=label)
    axes.set_xscale("log", base=2)
    axes.set_yscale("log")
    axes.set_xlabel("connections")
    axes.set_ylabel("latency (ms)")
    axes.grid(alpha=0.3, which="both")
    axes.legend(fontsize=7)
    figure.tight_layout()
    path = out_dir / "serve-latency.png"
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
