"""The shipped-path algorithm is what serve + ingest + train give; peers run beside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamrec.bootstrap import embedded_engine, train
from streamrec.config import Settings
from streamrec.datasets import SyntheticShop
from streamrec.errors import InvalidInput
from streamrec.evaluation.algorithms import AlgorithmContext, build_algorithm
from streamrec.events import EventBatch
from tests.history import fill_history

SHOP = SyntheticShop(n_users=120, n_items=80, n_categories=4, seed=5)
N_EVENTS = 6_000


def _history() -> EventBatch:
    return next(SHOP.events(N_EVENTS, chunk_size=N_EVENTS))


def _served_lists(data_dir: Path, users: list[str], trained: bool) -> list[list[str]]:
    """Lists from a real embedded engine after ingest (and ``streamrec train``)."""
    fill_history(data_dir, SHOP, N_EVENTS, chunk_size=1_500)
    settings = Settings(data_dir=data_dir)
    if trained:
        train(settings)
    engine = embedded_engine(settings)
    try:
        assert engine.catch_up(timeout_s=30)
        assert (engine.models is not None and engine.models.version is not None) is trained
        return [[i.item_id for i in engine.recommend(user, 10).items] for user in users]
    finally:
        engine.close()


@pytest.mark.parametrize("trained", [False, True])
def test_shipped_path_gives_the_served_lists(tmp_path: Path, trained: bool) -> None:
    history = _history()
    users = sorted(set(history.user_id))[:25]
    name = "shipped" if trained else "shipped-untrained"
    shipped = build_algorithm(name, AlgorithmContext(catalog=SHOP.catalog()))
    shipped.fit(history)
    assert shipped.name == name
    measured = shipped.recommend(users, 10, [set() for _ in users])
    assert measured == _served_lists(tmp_path, users, trained)
    assert all(len(items) == 10 for items in measured)


def test_shipped_path_takes_no_parameters() -> None:
    with pytest.raises(InvalidInput, match="no parameters"):
        build_algorithm("shipped", AlgorithmContext(), {"recommend": {"seed_items": 3}})


def test_rtrec_slim_fits_learns_and_excludes() -> None:
    history = _history()
    slim = build_algorithm("rtrec-slim", AlgorithmContext(settings=Settings()))
    slim.fit(history.take(slice(0, 5_000)))
    user = history.user_id[0]
    first = slim.recommend([user], 10, [set()])[0]
    assert len(first) == 10 and len(set(first)) == 10
    banned = set(first[:3])
    assert not banned & set(slim.recommend([user], 10, [banned])[0])
    slim.learn(history.take(slice(5_000, N_EVENTS)))
    assert len(slim.recommend([user, "nobody"], 10, [set(), set()])[0]) == 10
