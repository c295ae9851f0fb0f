"""What every benchmark shares: sizes, results as tables and JSON, percentiles, RSS.

A benchmark returns a :class:`BenchResult`: named rows of measured figures plus the
parameters it ran with. The CLI prints it as a table and writes it as JSON, so a
run's figures can be compared across machines and quoted in ``BENCHMARKS.md``.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Sizes:
    """Workload sizes of one run; :data:`FULL` and :data:`QUICK` are the presets."""

    ingest_events: int
    ingest_batch: int
    serve_users: int
    serve_items: int
    serve_events: int
    serve_duration_s: float
    serve_repeats: int
    connections: tuple[int, ...]
    freshness_probes: int
    memory_users: int
    memory_items: int
    memory_events: int
    scale_events: int
    scale_steps: int
    train_users: int
    train_items: int
    train_events: int
    train_iterations: int


FULL = Sizes(
    ingest_events=1_000_000,
    ingest_batch=5_000,
    serve_users=100_000,
    serve_items=20_000,
    serve_events=3_000_000,
    serve_duration_s=5.0,
    serve_repeats=3,
    connections=(1, 4, 16, 32, 64, 256),
    freshness_probes=300,
    memory_users=1_000_000,
    memory_items=100_000,
    memory_events=8_000_000,
    scale_events=1_000_000,
    scale_steps=10,
    train_users=100_000,
    train_items=20_000,
    train_events=2_000_000,
    train_iterations=15,
)

QUICK = Sizes(
    ingest_events=20_000,
    ingest_batch=2_000,
    serve_users=2_000,
    serve_items=500,
    serve_events=20_000,
    serve_duration_s=1.0,
    serve_repeats=1,
    connections=(1, 8),
    freshness_probes=20,
    memory_users=5_000,
    memory_items=1_000,
    memory_events=30_000,
    scale_events=10_000,
    scale_steps=3,
    train_users=2_000,
    train_items=500,
    train_events=30_000,
    train_iterations=3,
)


@dataclass
class BenchResult:
    """The measured rows of one benchmark, with the parameters it ran with."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, **row: Any) -> None:
        """Append one row of figures."""
        self.rows.append(row)

    def as_dict(self) -> dict[str, Any]:
        """The JSON document: benchmark, machine, parameters, rows, notes."""
        return {
            "benchmark": self.name,
            "machine": machine(),
            "params": self.params,
            "rows": self.rows,
            "notes": self.notes,
        }

    def write(self, out_dir: Path) -> Path:
        """Write ``<out_dir>/<name>.json`` and return its path."""
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"{self.name}.json"
        path.write_text(json.dumps(self.as_dict(), indent=2, default=_json_default) + "\n")
        return path

    def table(self) -> str:
        """The rows as an aligned text table (columns in first-seen order)."""
        columns: list[str] = []
        for row in self.rows:
            columns.extend(c for c in row if c not in columns)
        cells = [[_cell(row.get(c)) for c in columns] for row in self.rows]
        widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
        header = "  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True))
        lines = [f"== {self.name} ==", header]
        lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def machine() -> dict[str, Any]:
    """Where the figures were measured: CPUs, memory, Python, platform."""
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(pages / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def percentiles_ms(latencies_s: Sequence[float] | np.ndarray) -> dict[str, float]:
    """p50/p95/p99 of latencies given in seconds, in milliseconds."""
    values = np.asarray(latencies_s, dtype=np.float64) * 1000.0
    if values.size == 0:
        raise ValueError("no latencies were measured")
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {"p50_ms": float(p50), "p95_ms": float(p95), "p99_ms": float(p99)}


def median_rows(runs: Sequence[Row]) -> Row:
    """One row whose numeric fields are the medians over repeated runs."""
    merged: Row = dict(runs[0])
    for key, value in runs[0].items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            merged[key] = statistics.median(r[key] for r in runs)
    merged["repeats"] = len(runs)
    return merged


def rss_bytes() -> int:
    """Resident memory of this process now (Linux ``/proc``; peak RSS elsewhere)."""
    try:
        with open("/proc/self/statm") as handle:
            resident_pages = int(handle.read().split()[1])
        return resident_pages * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
