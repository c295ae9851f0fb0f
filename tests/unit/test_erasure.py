"""Erasure records: their wire form, the fold's erasure, profiles scrubbed, history and
catalog journal filtered."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from streamrec.config import Settings
from streamrec.datasets.synthetic import SyntheticShop
from streamrec.erasures import (
    Erasures,
    broadcast,
    erasure_batch,
    events_only,
    parse_erasure,
    runs,
    without_erased,
)
from streamrec.events import ERASE_ITEM, ERASE_USER, EventBatch
from streamrec.state.base import CatalogItem, Ranking
from streamrec.state.memory import MemoryState
from streamrec.state.memory.journal import CatalogJournal
from streamrec.state.memory.snapshot import load_snapshot, save_snapshot

SETTINGS = Settings()


def stream() -> list[EventBatch]:
    """Logged batches of a small shop (one partition, dense offsets)."""
    shop = SyntheticShop(n_users=60, n_items=40, n_categories=4, seed=5)
    batches, end = [], 0
    for chunk in shop.events(3_000, chunk_size=300):
        batches.append(chunk.with_positions(np.arange(end, end + len(chunk))))
        end += len(chunk)
    return batches


def positioned(batch: EventBatch, start: int) -> EventBatch:
    return batch.with_positions(np.arange(start, start + len(batch)))


def test_wire_records_round_trip_and_runs_keep_log_order() -> None:
    tombstones = erasure_batch(["u1"], ["i1", "i2"], timestamp=7)
    records = list(tombstones.records())
    assert records == [
        {"erase": "user", "user_id": "u1", "timestamp": 7},
        {"erase": "item", "item_id": "i1", "timestamp": 7},
        {"erase": "item", "item_id": "i2", "timestamp": 7},
    ]
    assert [parse_erasure(r) for r in records] == [
        (ERASE_USER, "u1", 7),
        (ERASE_ITEM, "i1", 7),
        (ERASE_ITEM, "i2", 7),
    ]
    assert isinstance(parse_erasure({"erase": "shop", "user_id": "u", "timestamp": 1}), str)
    assert isinstance(parse_erasure({"erase": "user", "user_id": "", "timestamp": 1}), str)
    assert isinstance(parse_erasure({"erase": "user", "user_id": "u", "timestamp": 1, "x": 1}), str)

    events = stream()[0]
    mixed = EventBatch.concat([events.take(slice(0, 5)), tombstones, events.take(slice(5, 9))])
    parts = list(runs(mixed))
    assert [type(p).__name__ for p in parts] == ["EventBatch", "Erasures", "EventBatch"]
    assert parts[1] == Erasures(users=["u1"], items=["i1", "i2"])
    assert len(events_only(mixed)) == 9

    expanded, targets = broadcast(tombstones, [0, 1, 2])
    assert expanded.item_id == ["", "i1", "i1", "i1", "i2", "i2", "i2"]
    assert targets.tolist() == [-1, 0, 1, 2, 0, 1, 2]


def test_erasure_forgets_the_user_and_the_item_and_scrubs_every_profile() -> None:
    batches = stream()
    state = MemoryState(SETTINGS)
    for batch in batches[:5]:
        state.apply(batch)
    item = state.top_items(Ranking.POPULAR, 1).item_ids[0]
    user = batches[0].user_id[0]
    dense = state.items.get(item)
    before = {u: state.profile(u) for u in sorted(set(batches[0].user_id))}
    names = [n for n in state.items.to_list() if n is not None]
    neighbours = state.neighbors(names, 50)
    assert any(item in row.item_ids for row in neighbours)

    end = int(batches[4].offset[-1]) + 1
    state.apply(positioned(erasure_batch([user], [item]), end))

    assert state.profile(user) is None
    assert state.item_stats([item]) == [None]
    assert item not in state.top_items(Ranking.POPULAR, 40).item_ids
    assert len(state.cooccurrence.row(dense)[0]) == 0
    src = state.cooccurrence.to_arrays()
    assert dense not in src["src"] and dense not in src["dst"]
    for name, old in before.items():
        if name == user or old is None:
            continue
        new = state.profile(name)
        assert new is not None
        assert [r for r in old.recent if r.item_id != item] == new.recent
        assert [s for s in old.seen if s != item] == new.seen
        assert item not in new.cart + new.negative + new.wishlist


def test_a_snapshot_then_replay_equals_a_cold_replay_with_erasures(tmp_path: Path) -> None:
    batches = stream()
    end = int(batches[3].offset[-1]) + 1
    victim_user = batches[0].user_id[3]
    victim_item = batches[1].item_id[2]
    tombstone = positioned(erasure_batch([victim_user], [victim_item]), end)
    later = [b.with_positions(b.offset + 2) for b in batches[4:]]
    log = [*batches[:4], tombstone, *later]

    cold = MemoryState(SETTINGS)
    for batch in log:
        cold.apply(batch)
    warm = MemoryState(SETTINGS)
    for batch in log[:6]:
        warm.apply(batch)
    save_snapshot(warm, tmp_path / "snapshot.npz")
    restored = load_snapshot(SETTINGS, tmp_path / "snapshot.npz")
    for batch in log:  # a replay from the start: everything before the snapshot is skipped
        restored.apply(batch)

    users = sorted({u for b in batches for u in b.user_id})
    items = sorted({i for b in batches for i in b.item_id})
    assert [restored.profile(u) for u in users] == [cold.profile(u) for u in users]
    assert [restored.item_stats([i]) for i in items] == [cold.item_stats([i]) for i in items]
    for got, want in zip(restored.neighbors(items, 20), cold.neighbors(items, 20), strict=True):
        assert got.item_ids == want.item_ids


def test_history_leaves_out_erased_events() -> None:
    events = stream()[0].take(slice(0, 50))
    user, item = events.user_id[0], events.item_id[1]
    log = EventBatch.concat([events, erasure_batch([user], [item]), stream()[1].take(slice(0, 20))])
    log = log.with_positions(np.arange(len(log)))
    kept = without_erased(log)
    assert (kept.type >= 0).all()
    early = kept.offset < 50
    assert user not in [u for u, e in zip(kept.user_id, early, strict=True) if e]
    assert item not in [i for i, e in zip(kept.item_id, early, strict=True) if e]
    later = log.take(slice(52, None))
    assert list(kept.take(np.flatnonzero(~early)).records()) == list(later.records())


def test_the_catalog_journal_replays_deletions_in_order(tmp_path: Path) -> None:
    journal = CatalogJournal(tmp_path / "items.jsonl")
    journal.append([CatalogItem("a", title="A"), CatalogItem("b"), CatalogItem("c")])
    restored = MemoryState(SETTINGS)
    restored.upsert([CatalogItem("a"), CatalogItem("b"), CatalogItem("c")])  # an old snapshot
    journal.remove(["a", "b"])
    journal.append([CatalogItem("b", title="B again")])
    journal.replay(restored)
    assert restored.get(["a", "b", "c"]) == [
        None,
        CatalogItem("b", title="B again"),
        CatalogItem("c"),
    ]
    assert [i.item_id for i in journal.read()] == ["b", "c"]
