"""Scale: the same engine fed ten times more data, measured after every step.

One durable engine, in a process of its own, ingests a skewed synthetic stream in
``scale_steps`` equal steps of ``scale_events``. After each step (counted when
durable and applied) it records the step's ingest throughput, the p50/p99 of
in-process recommendation latency for random active users, the active users, the
state's array bytes and the process RSS. Throughput and p99 should stay flat; memory
should follow the active set, not the event count. Each curve is drawn to a PNG.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from streamrec.bench.common import BenchResult, Row, Sizes, percentiles_ms, rss_bytes
from streamrec.bench.memory import state_figures
from streamrec.bench.workloads import compile_fold, settle, shop
from streamrec.bootstrap import embedded_engine
from streamrec.config import Settings
from streamrec.engine import Engine
from streamrec.extras import import_extra

LATENCY_SAMPLES = 500
BATCH = 10_000


def _recommend_latencies(
    engine: Engine, users: Sequence[str], rng: np.random.Generator
) -> list[float]:
    latencies = []
    for index in rng.integers(len(users), size=LATENCY_SAMPLES).tolist():
        started = time.perf_counter()
        engine.recommend(users[index], 10)
        latencies.append(time.perf_counter() - started)
    return latencies


def measure_steps(sizes: Sizes, data_dir: Path) -> list[Row]:
    """Ingest the steps into a durable engine and measure after each (fresh process)."""
    source = shop(sizes.serve_users, sizes.serve_items)
    rng = np.random.default_rng(3)
    rows: list[Row] = []
    compile_fold()
    engine = embedded_engine(Settings(data_dir=data_dir))
    try:
        engine.upsert_items(source.catalog())
        batch = min(BATCH, sizes.scale_events)
        stream = source.events(sizes.scale_events * sizes.scale_steps, batch)
        for step in range(1, sizes.scale_steps + 1):
            started = time.perf_counter()
            for _ in range(0, sizes.scale_events, batch):
                engine.ingest(next(stream))
            settle(engine)
            seconds = time.perf_counter() - started
            users = [u for u in engine.state.users.to_list() if u is not None]
            latency = percentiles_ms(_recommend_latencies(engine, users, rng))
            figures = state_figures(engine.state)
            rows.append(
                {
                    "events": step * sizes.scale_events,
                    "events_per_s": sizes.scale_events / seconds,
                    **latency,
                    "active_users": figures["active_users"],
                    "state_bytes": figures["profile_array_bytes"] + figures["cooccurrence_bytes"],
                    "cooccurrence_entries": figures["cooccurrence_entries"],
                    "rss_bytes": rss_bytes(),
                }
            )
    finally:
        engine.close()
    return rows


def run(sizes: Sizes, work_dir: Path, out_dir: Path) -> BenchResult:
    """Ingest ``scale_steps`` × ``scale_events`` events, measuring after each step."""
    total = sizes.scale_events * sizes.scale_steps
    result = BenchResult(
        "scale",
        params={"users": sizes.serve_users, "items": sizes.serve_items, "events": total},
    )
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        result.rows = pool.apply(measure_steps, (sizes, work_dir / "scale"))
    result.params["plots"] = [p.name for p in plot(result.rows, out_dir)]
    result.notes.append("measured in a fresh process: rss_bytes is the engine's process")
    return result


def plot(rows: Sequence[Row], out_dir: Path) -> list[Path]:
    """Draw throughput, latency and memory against events ingested; the PNG paths."""
    matplotlib = import_extra("matplotlib", "models", "the scale benchmark's plots")
    matplotlib.use("Agg")
    plt = import_extra("matplotlib.pyplot", "models", "the scale benchmark's plots")

    out_dir.mkdir(parents=True, exist_ok=True)
    events = [r["events"] / 1e6 for r in rows]
    curves = {
        "scale-throughput.png": ("ingest events/s", [("events/s", "events_per_s", 1.0)]),
        "scale-latency.png": (
            "recommend latency (ms)",
            [("p50", "p50_ms", 1.0), ("p99", "p99_ms", 1.0)],
        ),
        "scale-memory.png": (
            "MiB",
            [("process RSS", "rss_bytes", 1 / 2**20), ("state arrays", "state_bytes", 1 / 2**20)],
        ),
        "scale-active-set.png": (
            "thousands",
            [
                ("active users", "active_users", 1e-3),
                ("co-occurrence entries / 100", "cooccurrence_entries", 1e-5),
            ],
        ),
    }
    paths = []
    for name, (ylabel, series) in curves.items():
        figure, axes = plt.subplots(figsize=(6, 3.5))
        for label, key, factor in series:
            axes.plot(events, [r[key] * factor for r in rows], marker="o", label=label)
        axes.set_xlabel("events ingested (millions)")
        axes.set_ylabel(ylabel)
        axes.set_ylim(bottom=0)
        axes.grid(alpha=0.3)
        axes.legend()
        figure.tight_layout()
        figure.savefig(out_dir / name, dpi=110)
        plt.close(figure)
        paths.append(out_dir / name)
    return paths
