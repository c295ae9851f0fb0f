"""Serving latency of this checkout beside another one, over real HTTP, side by side.

Builds (or reuses) a warm data directory of the synthetic shop with this checkout's
``streamrec bench`` workload, copies it for each server, and runs the bench server
(``python -m streamrec.bench.server``) of this checkout and of ``--baseline`` (another
checkout of streamrec, for example the commit before a change) at the same time. In
interleaved rounds the load generator of ``streamrec bench serve`` then asks each of
them for ``/v1/users/{id}/recommendations?k=10`` at every connection count, plus this
checkout with the list-shaping query ``--shaped`` (a rule, the category cap and MMR).
Prints the median p50, p99 and requests per second of each and the ratios to the
baseline::

    PYTHONPATH=. python scripts/compare_serving.py --baseline /path/to/other/checkout \\
        --data-dir /tmp/compare-serve
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import quote

import httpx

from streamrec.bench.loadgen import resolve_generator, run_load
from streamrec.bench.workloads import warm_data_dir
from streamrec.testing.process import free_port, running

RECOMMEND = "/v1/users/{}/recommendations?k=10"
#: The rule is URL-encoded, its ``%`` doubled for the load generator's format string.
SHAPED = (
    RECOMMEND
    + "&category_cap=3&mmr_lambda=0.7&rules="
    + quote("bury(0.5): price > 100", safe="").replace("%", "%%")
)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def _server(checkout: Path, data_dir: Path, log: Path) -> Iterator[str]:
    """The bench server of ``checkout`` (its own code: it runs from there)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "streamrec.bench.server", "--data-dir", str(data_dir)]
    with running(
        f"server of {checkout}",
        [*argv, "--port", str(port)],
        log_path=log,
        ready=lambda: _ready(url),
        timeout_s=300,
        cwd=checkout,
    ):
        yield url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True, help="another checkout")
    parser.add_argument("--data-dir", type=Path, required=True, help="reused when it exists")
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--items", type=int, default=5_000)
    parser.add_argument("--events", type=int, default=600_000)
    parser.add_argument("--connections", default="1,32")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per run")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    warm_dir, users_file = args.data_dir / "warm", args.data_dir / "users.txt"
    if not users_file.exists():
        shutil.rmtree(warm_dir, ignore_errors=True)
        state = warm_data_dir(warm_dir, args.users, args.items, args.events, 0)
        users_file.write_text("".join(f"{user}\n" for user in state.user_ids))
    users = users_file.read_text().split()
    here = Path(__file__).resolve().parent.parent
    tool = resolve_generator("auto")
    connections = [int(c) for c in args.connections.split(",")]
    runs: dict[tuple[str, int], list[dict[str, float | int]]] = {}
    with ExitStack() as stack:
        urls = {}
        for name, checkout in (("baseline", args.baseline.resolve()), ("this", here)):
            copy = args.data_dir / name
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(warm_dir, copy)
            urls[name] = stack.enter_context(_server(checkout, copy, args.data_dir / f"{name}.log"))
        cases = [("baseline", RECOMMEND), ("this", RECOMMEND), ("this, shaped", SHAPED)]
        for name, path in cases:  # warm caches and pools
            run_load(tool, urls[name.split(",")[0]], path, users, 8, 1.0)
        for round_ in range(args.rounds):
            for count in connections:
                turn = round_ % len(cases)  # each case goes first in some round
                for name, path in cases[turn:] + cases[:turn]:
                    load = run_load(
                        tool, urls[name.split(",")[0]], path, users, count, args.duration
                    )
                    runs.setdefault((name, count), []).append(load.as_row())
    print(f"generator {tool}, {len(users)} users, medians of {args.rounds} rounds")
    print("case               conns   p50 ms   p99 ms     req/s  p99/baseline  errors")
    for count in connections:
        base = statistics.median(r["p99_ms"] for r in runs[("baseline", count)])
        for name, _ in cases:
            rows = runs[(name, count)]
            p50, p99, rps = (
                statistics.median(r[f] for r in rows) for f in ("p50_ms", "p99_ms", "req_per_s")
            )
            errors = sum(int(r["errors"]) for r in rows)
            figures = f"{p50:8.2f} {p99:8.2f} {rps:9.0f} {p99 / base:13.2f}"
            print(f"{name:18} {count:5} {figures} {errors:7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
