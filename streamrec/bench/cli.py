"""``streamrec bench {ingest,processor,serve,served,freshness,memory,scale,train,all} [--quick] …``,
and ``streamrec bench soak --minutes N`` (a long mixed load, never part of ``all``).

Each benchmark prints a table and writes ``<out>/<name>.json``; ``scale`` and
``serve`` also draw their curves as PNG files in ``<out>``. After the last one,
``<out>/targets.json`` states each performance target whose benchmark ran against
its figure and ceiling from the same run (met or missed). ``--quick`` runs small sizes (the whole
suite in well under three minutes) to check that everything runs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from streamrec.bench import (
    freshness,
    ingest,
    memory,
    processor,
    scale,
    serve,
    served,
    soak,
    train,
)
from streamrec.bench.common import FULL, QUICK, BenchResult, Sizes
from streamrec.bench.targets import summarize

BENCHMARKS = ("ingest", "processor", "serve", "served", "freshness", "memory", "scale", "train")

Runner = Callable[[Sizes, Path, argparse.Namespace], BenchResult]

_RUNNERS: dict[str, Runner] = {
    "ingest": lambda sizes, work, args: ingest.run(sizes, work, args.movielens),
    "processor": lambda sizes, work, args: processor.run(sizes, work),
    "serve": lambda sizes, work, args: serve.run(sizes, work, args.out, args.generator),
    "served": lambda sizes, work, args: served.run(sizes, work),
    "freshness": lambda sizes, work, args: freshness.run(sizes, work),
    "memory": lambda sizes, work, args: memory.run(sizes, work),
    "scale": lambda sizes, work, args: scale.run(sizes, work, args.out),
    "train": lambda sizes, work, args: train.run(sizes, args.movielens),
    "soak": lambda sizes, work, args: soak.run(
        args.minutes, args.read_rate, args.sample_s, work, args.out
    ),
}


def run_benchmarks(
    names: list[str], sizes: Sizes, out_dir: Path, args: argparse.Namespace
) -> list[BenchResult]:
    """Run ``names`` in order, each in a fresh scratch directory; print and write each."""
    results = []
    for name in names:
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix=f"streamrec-bench-{name}-") as work:
            result = _RUNNERS[name](sizes, Path(work), args)
        result.params["wall_s"] = round(time.perf_counter() - started, 1)
        path = result.write(out_dir)
        print(result.table())
        print(f"({result.params['wall_s']} s, written to {path})\n", flush=True)
        results.append(result)
    summary = summarize({r.name: r for r in results})
    if summary is not None:
        path = summary.write(out_dir)
        print(summary.table())
        print(f"(written to {path})\n", flush=True)
    return results


def cmd_bench(args: argparse.Namespace) -> int:
    """Run the chosen benchmark, or all of them."""
    names = list(BENCHMARKS) if args.benchmark == "all" else [args.benchmark]
    if args.movielens is not None and not args.movielens.is_dir():
        print(f"note: MovieLens folder {args.movielens} not found; its rows are skipped")
        args.movielens = None
    run_benchmarks(names, QUICK if args.quick else FULL, args.out, args)
    return 0


def add_bench_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``bench`` to the ``streamrec`` command's subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "bench", help="measure ingest, serving, freshness, memory, scale and training"
    )
    parser.add_argument("benchmark", choices=[*BENCHMARKS, "soak", "all"])
    parser.add_argument("--quick", action="store_true", help="small sizes, to check it runs")
    parser.add_argument(
        "--out", type=Path, default=Path("bench-results"), help="where JSON and PNG files go"
    )
    parser.add_argument(
        "--movielens",
        type=Path,
        help="a MovieLens release folder for ingest and train (skipped when not given)",
    )
    parser.add_argument(
        "--generator",
        choices=["auto", "wrk", "httpx"],
        default="auto",
        help="HTTP load generator for serve (auto: wrk when installed)",
    )
    parser.add_argument(
        "--minutes", type=float, default=30.0, help="soak: how long to run (not part of all)"
    )
    parser.add_argument("--read-rate", type=float, default=200.0, help="soak: reads per second")
    parser.add_argument("--sample-s", type=float, default=10.0, help="soak: seconds per sample")
    parser.set_defaults(handler=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m streamrec.bench …``: the ``bench`` subcommand on its own."""
    parser = argparse.ArgumentParser(prog="python -m streamrec")
    add_bench_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["bench", *(sys.argv[1:] if argv is None else argv)])
    return cmd_bench(args)
