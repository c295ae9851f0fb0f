"""What logging every served list costs, and how big a served list is.

On a warm embedded engine (``serve_users`` profiles over ``serve_items`` items),
one thread asks for ``k=10`` lists of random users in-process, with the
served-list log off, on (the default: the list is queued and written by the
log's group commit), and on with ``served_log_wait`` (each list waits for its
``fdatasync``); the modes alternate ``serve_repeats`` times and medians are
quoted. Bytes per served list are the segment files' size over the lists they
hold; the attribution index's memory per list is measured with tracemalloc.
"""

from __future__ import annotations

import random
import time
import tracemalloc
from itertools import islice
from pathlib import Path

import numpy as np

from streamrec.bench.common import BenchResult, Sizes
from streamrec.bench.workloads import warm_data_dir
from streamrec.bootstrap import embedded_engine
from streamrec.config import ExperimentSettings, Settings
from streamrec.experiments.memory_store import MemoryAttribution
from streamrec.experiments.served_log import SERVED_DIR, EmbeddedServedLog

MODES = {
    "off": {"served_log": False},
    "on (default)": {},
    "on, wait for fsync": {"served_log_wait": True},
}
#: Lists asked for per mode and repeat.
REQUESTS = 500


def _latencies(data_dir: Path, overlay: dict[str, bool], users: list[str]) -> np.ndarray:
    settings = Settings(data_dir=data_dir, experiments=ExperimentSettings(**overlay))
    engine = embedded_engine(settings)
    try:
        for user in users[:100]:  # warm caches
            engine.recommend(user, 10)
        took = np.empty(len(users))
        for n, user in enumerate(users):
            started = time.perf_counter()
            engine.recommend(user, 10)
            took[n] = time.perf_counter() - started
        if engine.attributor is not None:
            engine.attributor.served_log.flush(10.0)
        return took
    finally:
        engine.close()


def _bytes_per_list(directory: Path) -> tuple[int, float]:
    log = EmbeddedServedLog(directory, ExperimentSettings())
    try:
        lists = log.end() - log.begin()
    finally:
        log.close()
    size = sum(p.stat().st_size for p in directory.glob("*.jsonl"))
    return lists, size / max(lists, 1)


def _index_bytes_per_list(directory: Path, n: int = 5_000) -> float:
    """Memory the attribution store holds per indexed list (lists read inside the trace)."""
    log = EmbeddedServedLog(directory, ExperimentSettings())
    tracemalloc.start()
    try:
        entries = list(islice(log.read(log.begin()), n))
        store = MemoryAttribution(ExperimentSettings())
        store.apply_served(entries)
        count = len(entries)
        del entries
        used, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        log.close()
    return used / max(count, 1)


def run(sizes: Sizes, work_dir: Path) -> BenchResult:
    """Per mode: median and p99 latency of a list, lists per second, ratio to off."""
    state = warm_data_dir(
        work_dir / "served", sizes.serve_users, sizes.serve_items, sizes.serve_events, 0
    )
    rng = random.Random(0)
    requests = REQUESTS * sizes.serve_repeats
    medians: dict[str, list[float]] = {m: [] for m in MODES}
    p99s: dict[str, list[float]] = {m: [] for m in MODES}
    for _ in range(sizes.serve_repeats):
        for mode, overlay in MODES.items():
            users = [rng.choice(state.user_ids) for _ in range(requests)]
            took = _latencies(state.data_dir, overlay, users)
            medians[mode].append(float(np.median(took)))
            p99s[mode].append(float(np.percentile(took, 99)))
    lists, per_list = _bytes_per_list(state.data_dir / SERVED_DIR)
    result = BenchResult(
        "served",
        params={
            "users": len(state.user_ids),
            "items": len(state.item_ids),
            "requests_per_mode": requests,
            "repeats": sizes.serve_repeats,
            "k": 10,
            "lists_logged": lists,
            "bytes_per_served_list_on_disk": round(per_list, 1),
            "index_bytes_per_list_in_memory": round(
                _index_bytes_per_list(state.data_dir / SERVED_DIR), 1
            ),
        },
    )
    off = float(np.median(medians["off"]))
    for mode in MODES:
        median = float(np.median(medians[mode]))
        result.add(
            mode=mode,
            median_us=round(median * 1e6, 1),
            p99_us=round(float(np.median(p99s[mode])) * 1e6, 1),
            lists_per_s=round(1 / median),
            ratio_to_off=round(median / off, 3),
        )
    return result
