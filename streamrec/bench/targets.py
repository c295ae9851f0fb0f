"""Each performance target against its figure and its ceiling, from one run.

After the benchmarks of a run, :func:`summarize` reads their results and states,
for every target whose benchmark ran, the measured figure, the ceiling it is
compared with (measured in the same run, on the same machine), and whether the
target is met. ``BENCHMARKS.md`` quotes this table.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from streamrec.bench.common import BenchResult, Row
from streamrec.bench.serve import target_connections

Results = Mapping[str, BenchResult]


@dataclass(frozen=True, slots=True)
class Target:
    """One target: what is measured, how it compares, and where to read it."""

    name: str
    benchmark: str
    threshold: float
    at_most: bool
    #: (figure, ceiling or None) from the benchmark's rows, or None if not measured.
    read: Callable[[list[Row]], tuple[float, float | None] | None]


def _row(rows: list[Row], **match: object) -> Row | None:
    return next((r for r in rows if all(r.get(k) == v for k, v in match.items())), None)


def _ingest_http(rows: list[Row]) -> tuple[float, float | None] | None:
    http = _row(rows, dataset="synthetic", path="HTTP POST")
    log = _row(rows, dataset="synthetic", path="log append")
    if http is None:
        return None
    return http["events_per_s"], None if log is None else log["events_per_s"]


def _serve(mode: str, key: str) -> Callable[[list[Row]], tuple[float, float | None] | None]:
    def read(rows: list[Row]) -> tuple[float, float | None] | None:
        counts = [r["connections"] for r in rows if r["mode"] == mode]
        if not counts:
            return None
        at = target_connections(counts)
        row, ceiling = (
            _row(rows, mode=mode, connections=at),
            _row(rows, mode="healthz", connections=at),
        )
        if row is None:
            return None
        base = None if ceiling is None else ceiling["req_per_s"]
        return row[key], base

    return read


def _freshness(rows: list[Row]) -> tuple[float, float | None] | None:
    row = _row(rows, mode="ingesting")
    return None if row is None else (row["p99_ms"], None)


def _memory(rows: list[Row]) -> tuple[float, float | None] | None:
    return (rows[0]["profile_bytes_per_user"], None) if rows else None


def _flat_p99(rows: list[Row]) -> tuple[float, float | None] | None:
    p99s = [r["p99_ms"] for r in rows]
    return (max(p99s) / min(p99s), None) if len(p99s) > 1 and min(p99s) > 0 else None


TARGETS = (
    Target("POST /v1/events events/s (durable, applied)", "ingest", 100_000, False, _ingest_http),
    Target(
        "recommendations req/s ÷ /healthz",
        "serve",
        0.5,
        False,
        _serve("recommendations", "ratio_to_healthz"),
    ),
    Target("recommendations p99 ms", "serve", 10.0, True, _serve("recommendations", "p99_ms")),
    Target(
        "recommendations p99 ms, ingesting 1,000/s",
        "serve",
        20.0,
        True,
        _serve("recommendations + ingest", "p99_ms"),
    ),
    Target("similar req/s ÷ /healthz", "serve", 0.8, False, _serve("similar", "ratio_to_healthz")),
    Target("popular req/s ÷ /healthz", "serve", 0.8, False, _serve("popular", "ratio_to_healthz")),
    Target("freshness p99 ms, ingesting 1,000/s", "freshness", 50.0, True, _freshness),
    Target("profile bytes per user", "memory", 1024.0, True, _memory),
    Target("scale: recommend p99 max ÷ min over the steps", "scale", 1.5, True, _flat_p99),
)


def summarize(results: Results) -> BenchResult | None:
    """The targets whose benchmark ran, with figure, ceiling and met; None if none ran."""
    summary = BenchResult("targets")
    for target in TARGETS:
        result = results.get(target.benchmark)
        measured = None if result is None else target.read(result.rows)
        if measured is None:
            continue
        figure, ceiling = measured
        compare = operator.le if target.at_most else operator.ge
        summary.add(
            target=target.name,
            goal=("≤ " if target.at_most else "≥ ") + f"{target.threshold:g}",
            measured=figure,
            ceiling=ceiling,
            met="yes" if compare(figure, target.threshold) else "no",
        )
    if not summary.rows:
        return None
    summary.notes.append("ceilings: the log append (ingest) and /healthz (serve), same run")
    return summary
