"""The benchmark suite: result plumbing, and ``bench all --quick`` end to end."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from streamrec.bench.cli import BENCHMARKS, main
from streamrec.bench.common import BenchResult, median_rows, percentiles_ms
from streamrec.bench.targets import TARGETS, summarize

#: Figures every row of a benchmark must carry, each measured (finite and positive).
MEASURED = {
    "ingest": ("events_per_s", "seconds", "ratio_to_log"),
    "processor": ("us_per_event", "cpu_us_per_event", "share_of_cpu"),
    "serve": ("req_per_s", "p50_ms", "p95_ms", "p99_ms", "ratio_to_healthz"),
    "served": ("median_us", "p99_us", "lists_per_s", "ratio_to_off"),
    "freshness": ("p50_ms", "p95_ms", "p99_ms"),
    "memory": ("profile_bytes_per_user", "bytes_per_cooccurrence_entry", "rss_state_bytes"),
    "scale": ("events_per_s", "p99_ms", "active_users", "state_bytes", "rss_bytes"),
    "train": ("train_s", "matrix_s", "ratio_to_implicit"),
}


def test_percentiles_are_in_milliseconds() -> None:
    latencies = [i / 1000.0 for i in range(1, 101)]  # 1..100 ms
    figures = percentiles_ms(latencies)
    assert figures["p50_ms"] == pytest.approx(50.5)
    assert figures["p99_ms"] == pytest.approx(99.01)


def test_percentiles_refuse_an_empty_run() -> None:
    with pytest.raises(ValueError, match="no latencies"):
        percentiles_ms([])


def test_median_rows_takes_medians_of_numbers_and_keeps_labels() -> None:
    runs = [{"mode": "a", "rate": 3.0}, {"mode": "a", "rate": 1.0}, {"mode": "a", "rate": 2.0}]
    assert median_rows(runs) == {"mode": "a", "rate": 2.0, "repeats": 3}


def test_result_table_and_json(tmp_path: Path) -> None:
    result = BenchResult("demo", params={"size": 3})
    result.add(mode="idle", rate=1234.5)
    result.add(mode="busy", p99_ms=0.25)
    lines = result.table().splitlines()
    assert lines[0] == "== demo =="
    assert lines[1].split() == ["mode", "rate", "p99_ms"]
    assert lines[2].split() == ["idle", "1,234", "-"]
    assert lines[3].split() == ["busy", "-", "0.250"]
    document = json.loads(result.write(tmp_path).read_text())
    assert document["rows"] == result.rows
    assert document["machine"]["cpus"] >= 1


@pytest.mark.slow
def test_bench_all_quick_measures_every_figure(tmp_path: Path, shared_data: Path) -> None:
    out = tmp_path / "results"
    movielens = shared_data / "ml-latest-small"
    argv = ["all", "--quick", "--out", str(out), "--movielens", str(movielens)]
    assert main([*argv, "--generator", "httpx"]) == 0
    for name in BENCHMARKS:
        document = json.loads((out / f"{name}.json").read_text())
        assert document["benchmark"] == name
        assert document["rows"], name
        for row in document["rows"]:
            for key in MEASURED[name]:
                value = row[key]
                assert math.isfinite(value) and value > 0, (name, key, row)
    ingest = json.loads((out / "ingest.json").read_text())["rows"]
    assert {(r["dataset"], r["path"]) for r in ingest} >= {
        ("ml-latest-small", "HTTP POST"),
        ("synthetic", "log append"),
        ("synthetic", "engine ingest"),
    }
    serve = json.loads((out / "serve.json").read_text())["rows"]
    assert {r["mode"] for r in serve} == {
        "healthz",
        "recommendations",
        "recommendations + ingest",
        "similar",
        "popular",
    }
    assert all(r["errors"] == 0 for r in serve)
    assert (out / "serve-latency.png").read_bytes().startswith(b"\x89PNG")
    processor = json.loads((out / "processor.json").read_text())["rows"]
    assert [r["stage"] for r in processor if not r["stage"].startswith(" ")] == [
        "poll",
        "apply",
        "commit",
        "observers",
        "total",
    ]
    targets = json.loads((out / "targets.json").read_text())["rows"]
    assert [r["target"] for r in targets] == [t.name for t in TARGETS]
    assert {r["met"] for r in targets} <= {"yes", "no"}
    served = json.loads((out / "served.json").read_text())
    assert [r["mode"] for r in served["rows"]] == ["off", "on (default)", "on, wait for fsync"]
    assert 100 < served["params"]["bytes_per_served_list_on_disk"] < 2_000
    assert served["params"]["index_bytes_per_list_in_memory"] > 0
    freshness = json.loads((out / "freshness.json").read_text())["rows"]
    assert [r["timed_out"] for r in freshness] == [0, 0]
    for plot in ("throughput", "latency", "memory", "active-set"):
        assert (out / f"scale-{plot}.png").read_bytes().startswith(b"\x89PNG")


def _result(name: str, *rows: dict[str, object]) -> BenchResult:
    result = BenchResult(name)
    for row in rows:
        result.add(**row)
    return result


def test_targets_state_figure_ceiling_and_met() -> None:
    def serve_row(
        mode: str, connections: int, req_per_s: float, p99_ms: float
    ) -> dict[str, object]:
        return {
            "mode": mode,
            "connections": connections,
            "req_per_s": req_per_s,
            "p99_ms": p99_ms,
            "ratio_to_healthz": req_per_s / 4_000,
        }

    results = {
        "ingest": _result(
            "ingest",
            {"dataset": "synthetic", "path": "log append", "events_per_s": 2e6},
            {"dataset": "synthetic", "path": "HTTP POST", "events_per_s": 120_000.0},
        ),
        "serve": _result(
            "serve",
            serve_row("healthz", 8, 4_000, 2.0),
            serve_row("healthz", 32, 4_000, 9.0),
            serve_row("recommendations", 8, 3_000, 3.0),
            serve_row("recommendations", 32, 1_000, 40.0),
            serve_row("similar", 32, 3_600, 9.5),
        ),
    }
    summary = summarize(results)
    assert summary is not None
    rows = {r["target"]: r for r in summary.rows}
    assert rows["POST /v1/events events/s (durable, applied)"]["met"] == "yes"
    assert rows["POST /v1/events events/s (durable, applied)"]["ceiling"] == 2e6
    ratio = rows["recommendations req/s ÷ /healthz"]
    assert (ratio["measured"], ratio["ceiling"], ratio["met"]) == (0.25, 4_000, "no")
    assert rows["recommendations p99 ms"]["met"] == "no"  # read at 32 connections, not 8
    assert rows["similar req/s ÷ /healthz"]["met"] == "yes"
    assert "popular req/s ÷ /healthz" not in rows  # not measured: not stated
    assert summarize({}) is None


@pytest.mark.slow
def test_bench_soak_samples_the_server_and_plots(tmp_path: Path) -> None:
    out = tmp_path / "results"
    argv = ["soak", "--minutes", "0.25", "--sample-s", "5", "--read-rate", "20"]
    assert main([*argv, "--out", str(out)]) == 0
    document = json.loads((out / "soak.json").read_text())
    rows = document["rows"]
    assert len(rows) >= 3
    for row in rows:
        assert row["rss_mib"] > 0 and row["open_fds"] > 0 and row["errors"] == 0
    assert sum(r["reads"] for r in rows) > 0 and any(r["p99_ms"] > 0 for r in rows)
    assert document["params"]["write_events_per_s_measured"] > 0
    assert (out / "soak.png").stat().st_size > 0
    assert any(note.startswith("RSS") for note in document["notes"])
