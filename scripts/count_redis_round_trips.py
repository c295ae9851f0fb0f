"""Redis round trips per read of the scale-out state, counted on a real Redis server.

Usage: ``python scripts/count_redis_round_trips.py [--users N]``

Starts a Redis server of its own (``streamrec.testing.servers.redis_server``), folds
20,000 synthetic events (2,000 users, 500 items) into a ``RedisState``, and counts
the packets the client sends (one per command, or per pipeline) for each
recommendation of N users with a history, for one similar-items list and for one
popular list. With ``--trace``, it also names the state method that sent each one,
for one recommendation.
"""

from __future__ import annotations

import argparse
import statistics
import traceback
from typing import Any

import redis.connection

from streamrec.config import Settings
from streamrec.datasets.synthetic import SyntheticShop
from streamrec.engine import Engine
from streamrec.state.base import Ranking
from streamrec.state.redis.state import RedisState
from streamrec.testing.servers import redis_server

SENT: list[str] = []
_send = redis.connection.Connection.send_packed_command


def _counted(self: redis.connection.Connection, *args: Any, **kwargs: Any) -> None:
    frames = [f for f in traceback.extract_stack() if "streamrec/state/redis" in f.filename]
    SENT.append(f"{frames[-1].name}:{frames[-1].lineno}" if frames else "?")
    _send(self, *args, **kwargs)


def main() -> None:
    """Print round trips per recommendation (median, min, max), similar and popular."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--trace", action="store_true")
    args = parser.parse_args()
    redis.connection.Connection.send_packed_command = _counted  # type: ignore[method-assign]
    settings = Settings()
    with redis_server() as url:
        state = RedisState.connect(settings, f"{url}?prefix=trips")
        shop = SyntheticShop(2_000, 500, 10, seed=1)
        state.upsert(shop.catalog())
        users: set[str] = set()
        for batch in shop.events(20_000, 5_000):
            state.apply(batch)
            users.update(batch.user_id)
        engine = Engine(settings, state)
        trips = []
        for user in sorted(users)[: args.users]:
            SENT.clear()
            engine.recommend(user, 10)
            trips.append(len(SENT))
            if args.trace and len(trips) == 1:
                print("one recommendation:", ", ".join(SENT))
        print(
            f"recommendation: median {statistics.median(trips):g} round trips "
            f"(min {min(trips)}, max {max(trips)}, {len(trips)} users)"
        )
        SENT.clear()
        engine.similar(shop.catalog()[0].item_id, 10)
        print(f"similar: {len(SENT)}")
        SENT.clear()
        engine.ranked(Ranking.POPULAR, 10, None)
        print(f"popular: {len(SENT)}")
        state.close()


if __name__ == "__main__":
    main()
