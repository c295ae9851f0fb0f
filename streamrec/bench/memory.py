"""Memory of the online state: per active user profile, per co-occurrence entry.

The state is built in a fresh interpreter (so its resident memory is not mixed up
with the benchmark's own) by folding a synthetic stream of short sessions straight
into a :class:`MemoryState`. Two views are reported side by side:

- array bytes, exact: profile rows (``bytes_per_user``), co-occurrence index arrays;
- the resident-memory (RSS) growth of the process, which adds the id maps, the
  catalog and allocator slack.

The state size at ``memory_users`` × ``memory_items`` is measured directly; the
figures per user and per entry let it be projected to other sizes.
"""

from __future__ import annotations

import gc
import multiprocessing
from pathlib import Path
from typing import Any

from streamrec.bench.common import BenchResult, Sizes, rss_bytes
from streamrec.bench.workloads import SEED, compile_fold
from streamrec.config import Settings
from streamrec.datasets.sessions import ShopBehaviour
from streamrec.datasets.synthetic import SyntheticShop
from streamrec.state.memory import MemoryState

#: Short sessions spread a stream over many users, to reach a large active set fast.
SHORT_SESSIONS = ShopBehaviour(views_per_session=2.0)
CHUNK = 100_000


def state_figures(state: MemoryState) -> dict[str, Any]:
    """Array bytes of a state: profiles (used rows), co-occurrence, item table."""
    users, entries = len(state.users), len(state.cooccurrence)
    profile_bytes = state.profiles.bytes_per_user
    return {
        "active_users": users,
        "items": len(state.items),
        "profile_bytes_per_user": profile_bytes,
        "profile_array_bytes": profile_bytes * users,
        "profile_allocated_bytes": profile_bytes * state.profiles.capacity,
        "cooccurrence_entries": entries,
        "cooccurrence_bytes": state.cooccurrence.nbytes,
        "bytes_per_cooccurrence_entry": state.cooccurrence.nbytes / max(entries, 1),
    }


def measure_state(n_users: int, n_items: int, n_events: int) -> dict[str, Any]:
    """Build a state from ``n_events`` and measure it (run in a fresh process)."""
    shop = SyntheticShop(
        n_users, n_items, min(20, n_items), seed=SEED, activity_sigma=0.0, behaviour=SHORT_SESSIONS
    )
    compile_fold()
    catalog = shop.catalog()
    gc.collect()
    start = rss_bytes()
    state = MemoryState(Settings())
    state.upsert(catalog)
    del catalog
    gc.collect()
    with_catalog = rss_bytes()
    for batch in shop.events(n_events, CHUNK):
        state.apply(batch)
    del batch
    gc.collect()
    end = rss_bytes()
    figures = state_figures(state)
    users = figures["active_users"]
    return {
        **figures,
        "events": n_events,
        "rss_catalog_bytes": with_catalog - start,
        "rss_state_bytes": end - with_catalog,
        "rss_bytes_per_user": (end - with_catalog - figures["cooccurrence_bytes"]) / max(users, 1),
    }


def run(sizes: Sizes, work_dir: Path) -> BenchResult:
    """Measure the state of ``memory_users`` × ``memory_items`` in a fresh process."""
    del work_dir  # everything stays in memory
    args = (sizes.memory_users, sizes.memory_items, sizes.memory_events)
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        figures = pool.apply(measure_state, args)
    result = BenchResult(
        "memory",
        params={"users": args[0], "items": args[1], "events": args[2]},
    )
    result.add(**figures)
    result.notes.append(
        "rss_bytes_per_user = (RSS growth while folding events - co-occurrence arrays) / "
        "active users: profile rows, id maps, item statistics and allocator slack"
    )
    return result
