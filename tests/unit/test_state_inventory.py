"""The memory state counts what it holds and lists its catalog in the order stored;
the engine answers ``None`` / nothing for a state that cannot."""

from __future__ import annotations

from typing import Any

from streamrec.config import Settings
from streamrec.engine import Engine
from streamrec.events import Event, EventBatch
from streamrec.state.base import CatalogItem, Inventory, StateSizes
from streamrec.state.memory.state import MemoryState


def _state() -> MemoryState:
    state = MemoryState(Settings())
    state.upsert([CatalogItem(item_id=f"c{n}", title=f"Catalog {n}") for n in range(5)])
    events = [
        Event(user_id=user, item_id=item, type="view", timestamp=n)
        for n, (user, item) in enumerate([("ann", "c0"), ("bob", "c1"), ("ann", "x")])
    ]
    state.apply(EventBatch.from_events(events))
    return state


def test_sizes_count_live_users_items_with_ids_and_catalog_entries() -> None:
    state = _state()
    assert isinstance(state, Inventory)
    assert state.sizes() == StateSizes(users=2, items=6, catalog=5)


def test_the_catalog_is_listed_in_the_order_stored_and_a_replacement_keeps_its_place() -> None:
    state = _state()
    state.upsert([CatalogItem(item_id="c1", title="Renamed")])
    page = state.catalog_page(1, 3)
    assert [(i.item_id, i.title) for i in page] == [
        ("c1", "Renamed"),
        ("c2", "Catalog 2"),
        ("c3", "Catalog 3"),
    ]
    assert state.catalog_page(4, 10) == [CatalogItem(item_id="c4", title="Catalog 4")]
    assert state.catalog_page(5, 10) == []


class _Opaque:
    """A state that serves but keeps its counts to itself (as a shared store does)."""

    def __init__(self, inner: MemoryState) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        if name in ("sizes", "catalog_page"):
            raise AttributeError(name)
        return getattr(self._inner, name)


def test_the_engine_reports_no_sizes_for_a_state_without_an_inventory() -> None:
    inner = _state()
    engine: Engine[Any] = Engine(Settings(), _Opaque(inner))  # type: ignore[type-var]
    assert engine.sizes() is None
    assert engine.catalog_page(0, 10) == []
    assert Engine(Settings(), inner).sizes() == StateSizes(users=2, items=6, catalog=5)
