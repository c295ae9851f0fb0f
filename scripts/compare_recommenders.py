"""In-process cost of one recommendation: the reference beside the compiled pipeline.

Builds (or reuses) the data directory of the serve benchmark (``streamrec bench
serve``: 100,606 profiles over 20,000 items from the synthetic shop, or the
``--quick`` sizes), loads its snapshot and catalog into a memory state (no processor
thread beside the measurement), and times ``recommend(user, 10)`` for the same random
users with ``tests/reference_recommender.py`` (the former implementation) and with
:class:`streamrec.recommend.recommender.Recommender`, in interleaved rounds on the
same state. Prints each round's median wall and CPU microseconds per call, the
ratios, and how many lists agree; ``--profile`` adds a cProfile of each
implementation (by cumulative time)::

    PYTHONPATH=. python scripts/compare_recommenders.py --data-dir /tmp/serve-state
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from streamrec.adapters import catalog_journal_path, snapshot_path
from streamrec.bench.common import FULL, QUICK
from streamrec.bench.serve import warm
from streamrec.config import Settings
from streamrec.engine import CatalogJournal
from streamrec.recommend.recommender import Recommender
from streamrec.state.memory.snapshot import load_snapshot
from tests.reference_recommender import ReferenceRecommender


def per_call_us(recommend: Callable[[str, int], object], users: list[str]) -> tuple[float, float]:
    """The median wall and CPU time of one call over ``users``, in microseconds."""
    wall, cpu = [], []
    for user in users:
        started, started_cpu = time.perf_counter_ns(), time.thread_time_ns()
        recommend(user, 10)
        cpu.append(time.thread_time_ns() - started_cpu)
        wall.append(time.perf_counter_ns() - started)
    return statistics.median(wall) / 1000, statistics.median(cpu) / 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="reused when it exists")
    parser.add_argument("--quick", action="store_true", help="the --quick benchmark sizes")
    parser.add_argument("--users", type=int, default=2_000, help="users per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    if not args.data_dir.exists():
        warm(QUICK if args.quick else FULL, args.data_dir, 0.0)
    settings = Settings(data_dir=args.data_dir)
    state = load_snapshot(settings, snapshot_path(args.data_dir))
    state.upsert(CatalogJournal(catalog_journal_path(args.data_dir)).read())
    compiled = Recommender(state, state, settings.recommend)
    reference = ReferenceRecommender(state, state, settings.recommend)
    known = [u for u in state.users.to_list() if u is not None]
    rng = np.random.default_rng(7)
    users = [known[i] for i in rng.choice(len(known), args.users, replace=False)]
    print(f"{len(known):,} users, {len(state.items):,} items; {args.users} users per round")
    same = sum(
        [i.item_id for i in compiled.recommend(u, 10).items]
        == [i.item_id for i in reference.recommend(u, 10).items]
        for u in users
    )
    print(f"identical lists: {same} of {len(users)}")
    ratios: list[tuple[float, float]] = []
    for round_ in range(args.rounds):
        (before, before_cpu), (after, after_cpu) = (
            per_call_us(r.recommend, users) for r in (reference, compiled)
        )
        ratios.append((before / after, before_cpu / after_cpu))
        print(
            f"round {round_ + 1}: reference {before:.0f} us ({before_cpu:.0f} CPU), "
            f"compiled {after:.0f} us ({after_cpu:.0f} CPU): {before / after:.2f}x "
            f"({before_cpu / after_cpu:.2f}x CPU)"
        )
    wall_ratio = statistics.median(r[0] for r in ratios)
    cpu_ratio = statistics.median(r[1] for r in ratios)
    print(f"median ratio {wall_ratio:.2f}x wall, {cpu_ratio:.2f}x CPU")
    if args.profile:
        for name, recommender in (("reference", reference), ("compiled", compiled)):
            profile = cProfile.Profile()
            profile.runcall(lambda r=recommender: [r.recommend(u, 10) for u in users])
            print(f"\n--- {name} ---")
            pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
