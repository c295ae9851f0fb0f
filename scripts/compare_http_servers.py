"""uvicorn (httptools, uvloop) against granian, side by side on the same app.

Usage: ``python scripts/compare_http_servers.py [--rounds N] [--duration S]``

One benchmark server (``python -m streamrec.bench.server``) per HTTP server runs
over its own copy of one warm data directory, both at once. In each round every
route is loaded on one server, then on the other, with ``wrk`` (or the httpx
generator) at 32 connections: ``/healthz`` (the trivial endpoint),
recommendations for random users, similar items of random items, and popular
items; the idle server waits meanwhile. Then each server in turn ingests the
same POST bodies into a fresh data directory (events/s counted durable and
applied). The report gives the medians of the rounds and each route's ratio to
its server's ``/healthz``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
from contextlib import ExitStack
from pathlib import Path

from streamrec.bench.ingest import http_ingest_seconds
from streamrec.bench.loadgen import resolve_generator, run_load
from streamrec.bench.server import serving
from streamrec.bench.workloads import shop, synthetic_batches, warm_data_dir, wire_body
from streamrec.serving.http_server import HTTP_SERVERS

CONNECTIONS = 32
ROUTES = {
    "healthz": ("/healthz", "none"),
    "recommendations": ("/v1/users/{}/recommendations?k=10", "users"),
    "similar": ("/v1/items/{}/similar?k=10", "items"),
    "popular": ("/v1/items/popular?k=10", "none"),
}


def main() -> None:
    """Measure every route and ingest on every server; print a table of medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", type=float, default=4.0)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--items", type=int, default=5_000)
    parser.add_argument("--ingest-events", type=int, default=200_000)
    args = parser.parse_args()
    tool = resolve_generator("auto")
    runs: dict[tuple[str, str], list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="streamrec-servers-") as tmp:
        work = Path(tmp)
        state = warm_data_dir(
            work / "warm", args.users, args.items, max_events=10 * args.users, follow_up_events=0
        )
        ids = {"users": state.user_ids, "items": state.item_ids, "none": []}
        source = shop(100_000, 20_000)
        bodies = [wire_body(b) for b in synthetic_batches(source, args.ingest_events, 5_000)]
        with ExitStack() as stack:
            urls = {}
            for server in HTTP_SERVERS:
                data_dir = work / f"data-{server}"
                shutil.copytree(state.data_dir, data_dir)
                log = work / f"{server}.log"
                urls[server] = stack.enter_context(serving(data_dir, log, server=server))
            for url in urls.values():  # warm every route once
                for path, kind in ROUTES.values():
                    run_load(tool, url, path, ids[kind], 8, 1.0)
            for _ in range(args.rounds):
                for route, (path, kind) in ROUTES.items():
                    for server, url in urls.items():
                        load = run_load(tool, url, path, ids[kind], CONNECTIONS, args.duration)
                        runs.setdefault((server, route), []).append(load.as_row())
        for round_ in range(args.rounds):
            for server in HTTP_SERVERS:
                seconds = http_ingest_seconds(
                    bodies,
                    source.catalog(),
                    work / f"ingest-{server}-{round_}",
                    work / "i.log",
                    server,
                )
                runs.setdefault((server, "POST /v1/events"), []).append(
                    {"events_per_s": args.ingest_events / seconds}
                )
    print(f"generator {tool}, {CONNECTIONS} connections, medians of {args.rounds} rounds")
    print("| server | route | req/s | p50 ms | p99 ms | ratio to healthz | errors |")
    print("|---|---|---|---|---|---|---|")
    for server in HTTP_SERVERS:
        ceiling = statistics.median(r["req_per_s"] for r in runs[(server, "healthz")])
        for route in ROUTES:
            rows = runs[(server, route)]
            rps = statistics.median(r["req_per_s"] for r in rows)
            p50 = statistics.median(r["p50_ms"] for r in rows)
            p99 = statistics.median(r["p99_ms"] for r in rows)
            errors = sum(r["errors"] for r in rows)
            ratio = rps / ceiling
            figures = f"{rps:,.0f} | {p50:.2f} | {p99:.2f} | {ratio:.3f} | {errors:.0f}"
            print(f"| {server} | {route} | {figures} |")
    for server in HTTP_SERVERS:
        rate = statistics.median(r["events_per_s"] for r in runs[(server, "POST /v1/events")])
        print(f"| {server} | POST /v1/events (batches of 5,000) | {rate:,.0f} events/s | | | | |")


if __name__ == "__main__":
    main()
