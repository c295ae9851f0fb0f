"""``streamrec bench soak --minutes N``: a long mixed load, watched for leaks and drift.

A real server (its own process, embedded engine) takes reads at a fixed rate
(``--read-rate`` requests/s of "for you" lists, open loop: a slow answer does not
slow the schedule) and 1,000 events/s of writes from a producer process. Every
``--sample-s`` seconds the benchmark records the server's resident memory and open
file descriptors (from ``/proc/<pid>``), the read latency percentiles and errors of
the interval, and the processor lag from ``/readyz``; the rows go to ``soak.json``
and the curves to ``soak.png``. The notes compare the end with the state after the
warm-up (the first fifth of the run): RSS growth, fd growth, p99 spread, errors.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import orjson

from streamrec.bench.common import BenchResult, Row
from streamrec.bench.loadgen import producing
from streamrec.extras import import_extra
from streamrec.testing.process import free_port, running

#: Events per second of the write load.
WRITE_RATE = 1_000
_USERS = 20_000
_ITEMS = 5_000


@dataclass
class _Interval:
    """Read outcomes since the last sample (filled by the reader thread)."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> tuple[list[float], int]:
        with self.lock:
            found, errors = self.latencies, self.errors
            self.latencies, self.errors = [], 0
        return found, errors


def _bodies(count: int, size: int = 100, seed: int = 0) -> list[tuple[bytes, int]]:
    """Batches of view/click/cart events over a skewed catalog (server-stamped times)."""
    rng = np.random.default_rng(seed)
    types = np.array(["view", "view", "view", "click", "add_to_cart"])
    bodies = []
    for _ in range(count):
        users = rng.integers(0, _USERS, size)
        items = np.minimum(rng.zipf(1.3, size), _ITEMS) - 1
        kinds = types[rng.integers(0, len(types), size)]
        events = [
            {"user_id": f"u{u}", "item_id": f"i{i}", "type": str(t)}
            for u, i, t in zip(users.tolist(), items.tolist(), kinds.tolist(), strict=True)
        ]
        bodies.append((orjson.dumps({"events": events}), size))
    return bodies


def _read(url: str, rate: float, interval: _Interval, stop: threading.Event) -> None:
    """GET lists at ``rate`` per second on a fixed schedule until ``stop``."""
    rng = np.random.default_rng(1)
    started = time.perf_counter()
    sent = 0
    with httpx.Client(base_url=url, timeout=10.0) as client:
        while not stop.is_set():
            user = int(rng.integers(0, _USERS))
            begin = time.perf_counter()
            try:
                ok = client.get(f"/v1/users/u{user}/recommendations?k=10").status_code == 200
            except httpx.HTTPError:
                ok = False
            elapsed = time.perf_counter() - begin
            with interval.lock:
                interval.latencies.append(elapsed)
                interval.errors += 0 if ok else 1
            sent += 1
            ahead = started + sent / rate - time.perf_counter()
            if ahead > 0:
                stop.wait(ahead)


def _process_figures(pid: int) -> tuple[int, int]:
    """Resident bytes and open file descriptors of process ``pid``."""
    with open(f"/proc/{pid}/statm") as handle:
        resident = int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    return resident, len(os.listdir(f"/proc/{pid}/fd"))


@contextmanager
def _server(data_dir: Path, log_path: Path) -> Iterator[tuple[str, int]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "streamrec.bench.server", "--data-dir", data_dir, "--port", port]

    def ready() -> bool:
        try:
            return httpx.get(f"{url}/readyz", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    with running("streamrec server", [str(a) for a in argv], log_path=log_path, ready=ready) as p:
        yield url, p.pid


def run(
    minutes: float, read_rate: float, sample_s: float, work_dir: Path, out_dir: Path
) -> BenchResult:
    """Soak a server for ``minutes``; rows every ``sample_s`` seconds, plot in ``out_dir``."""
    result = BenchResult(
        "soak",
        params={
            "minutes": minutes,
            "read_rate": read_rate,
            "write_events_per_s": WRITE_RATE,
            "sample_s": sample_s,
        },
    )
    with _server(work_dir / "data", work_dir / "server.log") as (url, pid):
        interval = _Interval()
        stop = threading.Event()
        reader = threading.Thread(target=_read, args=(url, read_rate, interval, stop))
        with (
            producing(url, _bodies(600), WRITE_RATE) as producer,
            httpx.Client(base_url=url, timeout=10.0) as probe,
        ):
            reader.start()
            started = time.monotonic()
            try:
                while (elapsed := time.monotonic() - started) < minutes * 60:
                    time.sleep(min(sample_s, max(0.0, minutes * 60 - elapsed)))
                    result.rows.append(_sample(pid, probe, interval, time.monotonic() - started))
            finally:
                stop.set()
                reader.join()
        result.params["write_events_per_s_measured"] = round(producer.events_per_s, 1)
    result.notes += _verdict(result.rows)
    result.params["plot"] = _plot(result.rows, out_dir).name
    return result


def _sample(pid: int, probe: httpx.Client, interval: _Interval, at_s: float) -> Row:
    latencies, errors = interval.take()
    rss, fds = _process_figures(pid)
    lag = probe.get("/readyz").json().get("lag", -1)
    ms = np.asarray(latencies) * 1000 if latencies else np.zeros(1)
    return {
        "t_s": round(at_s, 1),
        "rss_mib": round(rss / 2**20, 1),
        "open_fds": fds,
        "reads": len(latencies),
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
        "errors": errors,
        "lag": lag,
    }


def _verdict(rows: Sequence[Row]) -> list[str]:
    """How the end compares with the state after the warm-up (the first fifth)."""
    if len(rows) < 2:
        return ["too few samples to compare"]
    warm = rows[max(1, len(rows) // 5) - 1]
    last = rows[-1]
    p99 = [r["p99_ms"] for r in rows[len(rows) // 5 :]]
    growth = (last["rss_mib"] - warm["rss_mib"]) / warm["rss_mib"] * 100
    return [
        f"RSS {warm['rss_mib']} MiB after warm-up, {last['rss_mib']} MiB at the end "
        f"({growth:+.1f} %)",
        f"open fds {warm['open_fds']} after warm-up, {last['open_fds']} at the end",
        f"p99 after warm-up: median {np.median(p99):.2f} ms, max {max(p99):.2f} ms",
        f"errors: {sum(r['errors'] for r in rows)} of {sum(r['reads'] for r in rows)} reads; "
        f"max lag {max(r['lag'] for r in rows)} events",
    ]


def _plot(rows: Sequence[Row], out_dir: Path) -> Path:
    """RSS, fds, p99 and lag against time, one panel each; the PNG's path."""
    matplotlib = import_extra("matplotlib", "models", "the soak benchmark's plot")
    matplotlib.use("Agg")
    plt = import_extra("matplotlib.pyplot", "models", "the soak benchmark's plot")
    out_dir.mkdir(parents=True, exist_ok=True)
    minutes = [r["t_s"] / 60 for r in rows]
    figure, panels = plt.subplots(4, 1, figsize=(7, 8), sharex=True)
    for axes, (key, label) in zip(
        panels,
        [
            ("rss_mib", "server RSS (MiB)"),
            ("open_fds", "open fds"),
            ("p99_ms", "read p99 (ms)"),
            ("lag", "lag (events)"),
        ],
        strict=True,
    ):
        axes.plot(minutes, [r[key] for r in rows], marker=".")
        axes.set_ylabel(label)
        axes.set_ylim(bottom=0)
        axes.grid(alpha=0.3)
    panels[-1].set_xlabel("minutes")
    figure.tight_layout()
    path = out_dir / "soak.png"
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
