"""The model store (atomic versions, latest pointer, pruning) and the trainer."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import streamrec
from streamrec.config import LogSettings
from streamrec.datasets.synthetic import SyntheticShop
from streamrec.errors import InvalidInput, NotFound
from streamrec.events import EventBatch
from streamrec.history.embedded import EmbeddedHistory
from streamrec.ids import IdMap
from streamrec.log.embedded import EmbeddedEventLog
from streamrec.models import (
    ContentModel,
    ItemKNNModel,
    ModelBundle,
    ModelSettings,
    ModelStore,
    train_and_publish,
    train_models,
)
from streamrec.models.settings import ALSSettings
from streamrec.state.base import CatalogItem

SMALL = ModelSettings(als=ALSSettings(factors=8, iterations=4), keep_versions=2)


def _bundle(n_users: int, seed: int = 0) -> ModelBundle:
    """A bundle whose sizes encode ``n_users``, so a reader can check it is whole."""
    rng = np.random.default_rng(seed)
    matrix = sp.csr_matrix((rng.random((n_users, 20)) < 0.3).astype(np.float32))
    items = IdMap(f"i{i}" for i in range(20))
    content = ContentModel(items).fit(
        matrix, [CatalogItem(f"i{i}", f"item {i}", [f"c{i % 3}"]) for i in range(20)]
    )
    return ModelBundle(
        users=IdMap(f"u{i}" for i in range(n_users)),
        items=items,
        itemknn=ItemKNNModel(neighbors=5).fit(matrix),
        content=content,
        manifest={"users_at_training": n_users},
    )


def test_publish_then_load_round_trip(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    assert store.latest_version() is None and store.versions() == []
    with pytest.raises(NotFound):
        store.load()
    bundle = _bundle(7)
    version = store.publish(bundle, {"metrics": {"ndcg@10": 0.25}})
    assert bundle.version == version == store.latest_version()
    loaded = store.load()
    assert loaded.version == version
    assert loaded.users.to_list() == bundle.users.to_list()
    assert loaded.items.to_list() == bundle.items.to_list()
    assert set(loaded.models()) == {"itemknn", "content"}
    assert loaded.content is not None and loaded.content.items is loaded.items
    assert loaded.itemknn is not None and bundle.itemknn is not None
    assert (loaded.itemknn.similarity != bundle.itemknn.similarity).nnz == 0
    manifest = loaded.manifest
    assert manifest["version"] == version and manifest["kinds"] == ["content", "itemknn"]
    assert manifest["params"]["itemknn"] == bundle.itemknn.params()
    assert manifest["metrics"] == {"ndcg@10": 0.25} and manifest["users_at_training"] == 7
    assert manifest["code_version"] == streamrec.__version__ and manifest["created_at"]
    files = json.loads((tmp_path / "versions" / version / "users.json").read_text())
    assert files == bundle.users.to_list()
    with pytest.raises(NotFound):
        store.load("19990101T000000000000Z")


def test_versions_sort_by_publication_and_prune_keeps_the_newest(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    published = [store.publish(_bundle(3 + i)) for i in range(5)]
    assert published == sorted(published) and len(set(published)) == 5
    assert store.versions() == published
    assert store.prune(keep=2) == published[:3]
    assert store.versions() == published[3:]
    assert store.load().version == published[-1]
    assert store.prune(keep=2) == []
    with pytest.raises(ValueError):
        store.prune(keep=0)


def test_a_reader_during_publishing_always_loads_a_complete_version(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    store.publish(_bundle(2))
    bundles = [_bundle(3 + i, seed=i) for i in range(12)]
    done = threading.Event()
    seen: set[str] = set()
    failures: list[BaseException] = []

    def read() -> None:
        while not done.is_set():
            try:
                bundle = store.load()
                assert len(bundle.users) == bundle.manifest["users_at_training"]
                assert bundle.itemknn is not None and bundle.content is not None
                assert bundle.itemknn.n_items == 20 and bundle.content.n_items == 20
                assert bundle.version is not None
                seen.add(bundle.version)
            except BaseException as exc:  # the test reports any failure below
                failures.append(exc)
                return

    readers = [threading.Thread(target=read) for _ in range(2)]
    for reader in readers:
        reader.start()
    try:
        for bundle in bundles:
            store.publish(bundle)
            store.prune(keep=1)
    finally:
        done.set()
        for reader in readers:
            reader.join()
    assert not failures, failures[0]
    assert len(seen) > 1, "the readers saw the versions change"


def test_train_models_builds_every_kind_on_shared_ids() -> None:
    shop = SyntheticShop(n_users=200, n_items=120, n_categories=6, seed=3)
    catalog = shop.catalog()
    bundle = train_models(
        shop.events(6_000, chunk_size=1_000),
        catalog,
        SMALL,
        kinds=("als", "itemknn", "ease", "content"),
    )
    assert set(bundle.models()) == {"als", "itemknn", "ease", "content"}
    assert bundle.items.to_list()[: len(catalog)] == [item.item_id for item in catalog]
    assert {model.n_items for model in bundle.models().values()} == {len(bundle.items)}
    assert bundle.content is not None and bundle.content.items is bundle.items
    window = bundle.manifest["data_window"]
    assert window["n_events"] == 6_000 and window["n_users"] == len(bundle.users)
    assert set(bundle.manifest["train_seconds"]) == {"als", "itemknn", "ease", "content"}
    assert bundle.als is not None and bundle.als.index is None, "small catalogs use exact search"


def test_train_models_builds_the_ann_index_for_large_catalogs() -> None:
    shop = SyntheticShop(n_users=100, n_items=60, n_categories=3, seed=4)
    settings = SMALL.model_copy(update={"ann": SMALL.ann.model_copy(update={"min_items": 10})})
    bundle = train_models(shop.events(2_000), shop.catalog(), settings, kinds=("als",))
    assert bundle.als is not None and bundle.als.index is not None
    assert len(bundle.als.index) == len(bundle.items)


def test_collaborative_models_need_positive_events() -> None:
    catalog = [CatalogItem("a", "an item", ["c"])]
    with pytest.raises(InvalidInput, match="als"):
        train_models([], catalog, SMALL, kinds=("als",))
    bundle = train_models([], catalog, SMALL, kinds=("content",))
    assert bundle.content is not None and bundle.content.n_items == 1


def test_train_and_publish_from_the_embedded_history(tmp_path: Path) -> None:
    shop = SyntheticShop(n_users=150, n_items=80, n_categories=4, seed=5)
    with EmbeddedEventLog.open(tmp_path / "log", LogSettings(fsync=False)) as log:
        for batch in shop.events(4_000, chunk_size=1_000):
            log.append(batch)
    history = EmbeddedHistory(tmp_path / "log")
    store = ModelStore(tmp_path / "models")
    versions = [
        train_and_publish(history, shop.catalog(), store, SMALL, metrics={"run": run})
        for run in range(3)
    ]
    assert store.versions() == versions[-SMALL.keep_versions :]
    bundle = store.load()
    assert bundle.version == versions[-1] and bundle.manifest["metrics"] == {"run": 2}
    assert bundle.manifest["data_window"]["n_events"] == history.count() == 4_000
    assert bundle.als is not None
    user_items = sp.csr_matrix(([1.0], ([0], [0])), shape=(1, len(bundle.items)))
    ids, _ = bundle.als.recommend(user_items, 5)
    assert (ids >= 0).all() and 0 not in ids


def test_an_event_batch_alone_is_training_input() -> None:
    shop = SyntheticShop(n_users=50, n_items=30, n_categories=3, seed=6)
    events = EventBatch.concat(shop.events(1_000))
    bundle = train_models([events], [], SMALL, kinds=("itemknn",))
    assert bundle.itemknn is not None and bundle.itemknn.n_items == len(bundle.items)
