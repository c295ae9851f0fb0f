"""Scheduled retraining on MovieLens 100K: threshold to new version, latency meanwhile.

Ingests ml-100k into a fresh data directory, starts ``streamrec serve`` with
``--retrain-every-events THRESHOLD`` and keeps one client asking for
recommendations of ml-100k users throughout. After an idle window it posts
THRESHOLD rating events (applied, ``?wait=true``) and measures how long until
``/readyz`` names a new model version, ``rounds`` times. Prints the client-side
latency (p50/p99) while idle and while a training runs, each round (the first
round is idle without any model; later rounds serve the previous round's models)::

    .venv/bin/python scripts/measure_retrain.py ../shared/data/ml-100k
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

from streamrec.config import Settings
from streamrec.ingest import ingest_into_engine
from streamrec.testing.process import free_port, running


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


class Load:
    """One client asking for recommendations in a loop, recording (end time, latency)."""

    def __init__(self, url: str, users: list[str]) -> None:
        self.url, self.users = url, users
        self.samples: list[tuple[float, float]] = []
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=10) as client:
            n = 0
            while not self._stop.is_set():
                started = time.perf_counter()
                status = client.get(f"/v1/users/{self.users[n % len(self.users)]}/recommendations")
                ended = time.perf_counter()
                if status.status_code != 200:
                    self.failures += 1
                self.samples.append((ended, ended - started))
                n += 1

    def window(self, start: float, end: float) -> np.ndarray:
        """Latencies (ms) of requests that ended inside ``[start, end]``."""
        return np.array([s * 1e3 for t, s in self.samples if start <= t <= end])

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _describe(name: str, latencies: np.ndarray, seconds: float) -> str:
    p50, p99 = np.percentile(latencies, [50, 99])
    rate = len(latencies) / seconds
    return (
        f"  {name:>14}: {len(latencies):6d} requests, {rate:4.0f}/s,"
        f" p50 {p50:.2f} ms, p99 {p99:.2f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the measurement and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("movielens", type=Path, help="the ml-100k folder")
    parser.add_argument("--threshold", type=int, default=1_000)
    parser.add_argument("--idle-s", type=float, default=15.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="streamrec-retrain-") as tmp:
        data_dir = Path(tmp) / "data"
        started = time.perf_counter()
        total = ingest_into_engine(
            args.movielens, Settings(data_dir=data_dir), "movielens", 5_000, False
        )
        print(f"ingested {total:,} events in {time.perf_counter() - started:.1f} s")
        ratings = np.loadtxt(args.movielens / "u.data", dtype=np.int64, usecols=(0, 1, 3))
        users = [str(u) for u in np.unique(ratings[:, 0])]
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        argv_serve = [
            sys.executable, "-m", "streamrec", "serve", "--data-dir", str(data_dir),
            "--port", str(port), "--retrain-every-events", str(args.threshold),
            "--retrain-every-s", "0",
        ]  # fmt: skip
        rng = np.random.default_rng(0)
        clock = int(ratings[:, 2].max()) * 1000
        with (
            running("streamrec serve", argv_serve, log_path=Path(tmp) / "serve.log",
                    ready=lambda: _ready(url), timeout_s=120),
            httpx.Client(base_url=url, timeout=30) as client,
            Load(url, users) as load,
        ):  # fmt: skip
            version = client.get("/readyz").json()["model_version"]
            for round_ in range(args.rounds):
                time.sleep(args.idle_s)
                idle_end = time.perf_counter()
                idle = load.window(idle_end - args.idle_s, idle_end)
                print(f"round {round_ + 1}, serving models {version}")
                print(_describe("idle", idle, args.idle_s))
                rows = ratings[rng.integers(0, len(ratings), args.threshold)]
                events = [
                    {"user_id": str(u), "item_id": str(i), "type": "rating", "value": 5,
                     "timestamp": clock + n}
                    for n, (u, i, _) in enumerate(rows.tolist())
                ]  # fmt: skip
                clock += args.threshold
                for chunk in range(0, len(events), 500):
                    body = {"events": events[chunk : chunk + 500]}
                    client.post("/v1/events?wait=true", json=body).raise_for_status()
                threshold_at = time.perf_counter()
                while (ready := client.get("/readyz").json())["model_version"] == version:
                    time.sleep(0.05)
                served_at = time.perf_counter()
                version = ready["model_version"]
                retrain = ready["retrain"]
                during = load.window(threshold_at, served_at)
                print(_describe("during retrain", during, served_at - threshold_at))
                print(
                    f"  threshold -> version {version} served in {served_at - threshold_at:.2f} s"
                    f" (training process {retrain['last_started_at']} .. "
                    f"{retrain['last_finished_at']})"
                )
        print(f"failed requests: {load.failures}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
