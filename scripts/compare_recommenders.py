"""In-process cost of one recommendation: the reference beside the compiled pipeline.

Builds (or reuses) the data directory of the serve benchmark (``streamrec bench
serve``: 100,606 profiles over 20,000 items from the synthetic shop, or the
``--quick`` sizes), opens the engine on it, and times ``recommend(user, 10)`` for the
same random users with ``tests/reference_recommender.py`` (the former implementation)
and with the engine's recommender, in interleaved rounds on the same state. Prints
each round's median microseconds per call, the ratio, and how many lists agree;
``--profile`` adds a cProfile of each implementation (by cumulative time)::

    PYTHONPATH=. python scripts/compare_recommenders.py --data-dir /tmp/serve-state
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from streamrec.bench.common import FULL, QUICK
from streamrec.bench.serve import warm
from streamrec.config import Settings
from streamrec.engine import Engine
from tests.reference_recommender import ReferenceRecommender

sys.setrecursionlimit(10_000)


def per_call_us(recommend: object, users: list[str]) -> float:
    """The median time of one call over ``users``, in microseconds."""
    times = []
    for user in users:
        started = time.perf_counter_ns()
        recommend(user, 10)  # type: ignore[operator]
        times.append(time.perf_counter_ns() - started)
    return statistics.median(times) / 1000


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
    engine = Engine.open(Settings(data_dir=args.data_dir))
    try:
        state = engine.state
        compiled = engine.recommender
        reference = ReferenceRecommender(state, state, engine.settings.recommend)
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
        ratios = []
        for round_ in range(args.rounds):
            before = per_call_us(reference.recommend, users)
            after = per_call_us(compiled.recommend, users)
            ratios.append(before / after)
            print(
                f"round {round_ + 1}: reference {before:.0f} us, compiled {after:.0f} us, "
                f"{before / after:.2f}x"
            )
        print(f"median ratio {statistics.median(ratios):.2f}x")
        if args.profile:
            for name, recommender in (("reference", reference), ("compiled", compiled)):
                profile = cProfile.Profile()
                profile.runcall(lambda r=recommender: [r.recommend(u, 10) for u in users])
                print(f"\n--- {name} ---")
                pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
    finally:
        engine.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
