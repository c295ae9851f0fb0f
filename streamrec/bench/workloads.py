"""Benchmark workloads: synthetic shops, wire bodies and warm data directories."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import orjson

from streamrec.bootstrap import embedded_engine, in_memory_engine
from streamrec.config import Settings
from streamrec.datasets import load_dataset
from streamrec.datasets.synthetic import SyntheticShop
from streamrec.engine import Engine
from streamrec.events import EventBatch

SEED = 20_240_101


def shop(n_users: int, n_items: int, *, uniform_users: bool = False) -> SyntheticShop:
    """The benchmark shop: the default skew, or every user equally active.

    ``uniform_users`` makes the active set grow quickly with the event count, to
    fill an engine with a given number of user profiles.
    """
    n_categories = min(20, n_items)
    sigma = 0.0 if uniform_users else 1.5
    return SyntheticShop(n_users, n_items, n_categories, seed=SEED, activity_sigma=sigma)


#: Longest wait for a processor to catch up with its log.
SETTLE_TIMEOUT_S = 600.0


def settle(engine: Engine) -> None:
    """Return once the engine's state has applied everything in its log.

    Raises
    ------
    TimeoutError
        If the processor does not catch up within :data:`SETTLE_TIMEOUT_S`.
    """
    if not engine.catch_up(SETTLE_TIMEOUT_S):
        raise TimeoutError(f"the processor did not catch up in {SETTLE_TIMEOUT_S:.0f} s")


def compile_fold() -> None:
    """Fold a few events once, so that compiling the fold never lands in a measurement."""
    in_memory_engine().ingest(next(shop(100, 50).events(1_000, 1_000)))


def synthetic_batches(source: SyntheticShop, n_events: int, batch_size: int) -> list[EventBatch]:
    """The first ``n_events`` events of ``source``, held in memory as batches."""
    return list(source.events(n_events, chunk_size=batch_size))


def movielens_batches(path: Path, batch_size: int) -> list[EventBatch]:
    """A MovieLens release (ratings in time order) as batches."""
    return list(load_dataset(path).stream(batch_size).chunks)


def wire_body(batch: EventBatch) -> bytes:
    """``{"events": [...]}`` as ``POST /v1/events`` takes it."""
    return orjson.dumps({"events": list(batch.records())})


@dataclass(frozen=True, slots=True)
class WarmState:
    """A data directory holding a snapshot of a warmed-up engine."""

    data_dir: Path
    user_ids: list[str]
    item_ids: list[str]
    events: int
    follow_up: EventBatch

    def follow_up_batches(self, size: int) -> list[EventBatch]:
        """The follow-up events in batches of ``size``."""
        total = len(self.follow_up)
        return [self.follow_up.take(slice(i, i + size)) for i in range(0, total, size)]


def warm_data_dir(
    data_dir: Path,
    n_users: int,
    n_items: int,
    max_events: int,
    follow_up_events: int,
    batch_size: int = 20_000,
) -> WarmState:
    """Fill ``data_dir`` until the engine holds ``n_users`` profiles (or ``max_events``).

    The shop has twice ``n_users`` users, all equally active, and ``n_items`` items.
    Returns the users that have a profile, the catalog, and the ``follow_up_events``
    that come next in the same stream (to ingest while measuring, in stream time).
    """
    source = shop(2 * n_users, n_items, uniform_users=True)
    engine = embedded_engine(Settings(data_dir=data_dir))
    ingested = 0
    rest: list[EventBatch] = []
    try:
        engine.upsert_items(source.catalog())
        for batch in source.events(max_events + follow_up_events, batch_size):
            if ingested < max_events and len(engine.state.users) < n_users:
                engine.ingest(batch)
                settle(engine)  # the next batch is chosen on the applied user count
                ingested += len(batch)
                continue
            rest.append(batch)
            if sum(len(b) for b in rest) >= follow_up_events:
                break
        users = [u for u in engine.state.users.to_list() if u is not None]
        items = [i for i in engine.state.items.to_list() if i is not None]
    finally:
        engine.close()
    follow_up = EventBatch.concat(rest).take(slice(0, follow_up_events))
    return WarmState(data_dir, users, items, ingested, follow_up)
