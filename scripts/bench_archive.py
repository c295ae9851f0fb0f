"""The history archiver's throughput and lag, on real servers started here.

Starts a Kafka-protocol broker (tansu) and a durable PostgreSQL (fsync on), then:

1. **throughput**: pre-fills a topic with ``--events`` synthetic shop events and
   archives all of them in this process with each ``--batch-sizes`` value, in
   ``--rounds`` interleaved rounds (a fresh database and consumer group each time);
   the rate counts from the moment the group assigned the partitions to the last
   write. Beside it, the two halves alone on the same events: reading (poll,
   decode, validate; no writes) and writing (``PostgresHistory.write`` of the read
   batches);
2. **lag**: runs ``streamrec archive`` (default settings) as its own process while
   producing ``--rate`` events/s for ``--duration`` s, each event stamped with its
   produce time; polls PostgreSQL every 20 ms for new rows and reports the lag in
   events (acknowledged by Kafka, not yet in PostgreSQL) and the time from produce
   to stored (which includes up to 20 ms of sampling), p50 / p99 / max::

       PYTHONPATH=. python scripts/bench_archive.py --events 200000 --rate 1000 --duration 60
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import psycopg

from streamrec.config import ArchiveSettings
from streamrec.datasets import SyntheticShop
from streamrec.events import EventBatch, now_ms
from streamrec.history.archive import HistoryArchiver
from streamrec.history.postgres import PostgresHistory
from streamrec.log.kafka import KafkaEventLog
from streamrec.scaleout.cluster import start_archiver
from streamrec.testing import kafka_broker, postgres_server

PARTITIONS = 4


def new_database(server_url: str) -> str:
    """A fresh, migrated database on the server."""
    name = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    url = server_url.rsplit("/", 1)[0] + f"/{name}"
    history = PostgresHistory.connect(url)
    history.migrate()
    history.close()
    return url


def fill(log: KafkaEventLog, n_events: int) -> float:
    """Append ``n_events`` shop events; return the rate in events/s."""
    shop = SyntheticShop(n_users=50_000, n_items=10_000, seed=7)
    started = time.perf_counter()
    for batch in shop.events(n_events, chunk_size=10_000):
        log.append(batch)
    return n_events / (time.perf_counter() - started)


def archive_all(log: KafkaEventLog, server_url: str, n_events: int, batch_size: int) -> float:
    """Archive the whole topic with a fresh group and database; events/s after joining."""
    url = new_database(server_url)
    settings = ArchiveSettings(batch_size=batch_size, buffer_events=max(200_000, batch_size))
    group = f"bench-{uuid.uuid4().hex[:8]}"
    archiver = HistoryArchiver(log, lambda: PostgresHistory.connect(url), settings, group)
    try:
        while not archiver.consumer.assignment():
            archiver.step()
        joined = time.perf_counter()
        while archiver.archived_events < n_events:
            archiver.step()
        return n_events / (time.perf_counter() - joined)
    finally:
        archiver.close()


def halves(
    log: KafkaEventLog, server_url: str, n_events: int, batch_size: int
) -> tuple[float, float]:
    """Reading alone and writing alone (events/s) on the same events."""
    consumer = log.consumer(f"bench-read-{uuid.uuid4().hex[:8]}")
    batches: list[EventBatch] = []
    try:
        while not consumer.assignment():
            batches.append(consumer.poll(batch_size, 0.1))
        started = time.perf_counter()
        read = sum(len(b) for b in batches)
        while read < n_events:
            batch = consumer.poll(batch_size, 0.1)
            batches.append(batch)
            read += len(batch)
        reading = n_events / (time.perf_counter() - started)
    finally:
        consumer.close()
    history = PostgresHistory.connect(new_database(server_url))
    try:
        started = time.perf_counter()
        for batch in batches:
            history.write(batch)
        writing = n_events / (time.perf_counter() - started)
    finally:
        history.close()
    return reading, writing


def throughput(args: argparse.Namespace, bootstrap: str, server_url: str) -> dict[str, object]:
    log = KafkaEventLog.connect(f"kafka://{bootstrap}/throughput?partitions={PARTITIONS}")
    try:
        fill_rate = fill(log, args.events)
        print(f"pre-filled {args.events:,} events at {fill_rate:,.0f}/s", flush=True)
        rates: dict[int, list[float]] = {size: [] for size in args.batch_sizes}
        reads: list[float] = []
        writes: list[float] = []
        for round_ in range(args.rounds):
            for size in args.batch_sizes:
                rates[size].append(archive_all(log, server_url, args.events, size))
                print(
                    f"round {round_ + 1} batch {size}: {rates[size][-1]:,.0f} events/s", flush=True
                )
            read, write = halves(log, server_url, args.events, 10_000)
            reads.append(read)
            writes.append(write)
            print(
                f"round {round_ + 1} read only {read:,.0f}/s, write only {write:,.0f}/s", flush=True
            )
    finally:
        log.close()
    return {
        "events": args.events,
        "archive_events_per_s_median": {
            size: round(statistics.median(r)) for size, r in rates.items()
        },
        "archive_events_per_s_all": {size: [round(x) for x in r] for size, r in rates.items()},
        "read_only_events_per_s_median": round(statistics.median(reads)),
        "write_only_events_per_s_median": round(statistics.median(writes)),
    }


class Producer:
    """Appends ``rate`` events/s in 20 ms slices, each stamped with its produce time."""

    def __init__(self, log: KafkaEventLog, rate: float, duration_s: float) -> None:
        self.log, self.rate, self.duration_s = log, rate, duration_s
        self.acknowledged = 0
        self.thread = threading.Thread(target=self._run)
        self._shop = SyntheticShop(n_users=50_000, n_items=10_000, seed=11)

    def _run(self) -> None:
        slice_s = 0.02
        per_slice = max(1, round(self.rate * slice_s))
        events = self._shop.events(int(self.rate * self.duration_s) + per_slice, per_slice)
        started = time.monotonic()
        for k, batch in enumerate(events):
            due = started + k * slice_s
            if due - started >= self.duration_s:
                return
            time.sleep(max(0.0, due - time.monotonic()))
            batch.timestamp[:] = now_ms()
            self.log.append(batch)
            self.acknowledged += len(batch)


def lag(args: argparse.Namespace, bootstrap: str, server_url: str, work: Path) -> dict[str, object]:
    url = new_database(server_url)
    log_url = f"kafka://{bootstrap}/lag?partitions={PARTITIONS}"
    log = KafkaEventLog.connect(log_url)
    archiver = start_archiver(log_url, url, work / "archive.log")
    lags: list[int] = []
    delays: list[int] = []
    try:
        with psycopg.connect(url, autocommit=True) as reader:
            warm = log.append(next(SyntheticShop(n_users=10, n_items=50, seed=1).events(10)))
            while reader.execute("SELECT count(*) FROM events").fetchone() != (len(warm),):
                time.sleep(0.1)  # the archiver has joined and stored the warm-up events
            last_id = int(reader.execute("SELECT max(id) FROM events").fetchone()[0])  # type: ignore[index]
            producer = Producer(log, args.rate, args.duration)
            producer.thread.start()
            stored = 0
            while producer.thread.is_alive() or stored < producer.acknowledged:
                acknowledged = producer.acknowledged
                rows = reader.execute(
                    "SELECT id, ts FROM events WHERE id > %s", (last_id,)
                ).fetchall()
                seen = now_ms()
                if rows:
                    last_id = max(int(r[0]) for r in rows)
                    delays += [seen - int(r[1]) for r in rows]
                    stored += len(rows)
                lags.append(max(0, acknowledged - stored))
                time.sleep(0.02)
            producer.thread.join()
    finally:
        archiver.terminate()
        archiver.wait(30)
        log.close()
    lag_events = np.array(lags)
    delay_ms = np.array(delays)
    return {
        "rate_events_per_s": args.rate,
        "duration_s": args.duration,
        "events": len(delays),
        "lag_events_p50_p99_max": [int(np.percentile(lag_events, q)) for q in (50, 99)]
        + [int(lag_events.max())],
        "produce_to_stored_ms_p50_p99_max": [int(np.percentile(delay_ms, q)) for q in (50, 99)]
        + [int(delay_ms.max())],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument(
        "--batch-sizes",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[2_000, 10_000, 50_000],
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=float, default=1_000.0)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--work", type=Path, default=Path("/tmp"))
    args = parser.parse_args()
    with kafka_broker() as broker, postgres_server(durable=True) as server_url:
        results = {
            "throughput": throughput(args, broker.bootstrap, server_url),
            "lag": lag(args, broker.bootstrap, server_url, args.work),
        }
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
