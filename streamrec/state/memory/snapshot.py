"""Snapshots of the memory state: one ``.npz`` file, written atomically, no pickle.

The snapshot holds every state array, the id tables, the catalog and the log
positions the state reflects. On start the engine loads it and replays the log
from those positions, which yields the same state as replaying the whole log.
:class:`SnapshotSchedule` is the embedded engine's hook that writes one every
``state.snapshot_every_events`` events or ``state.snapshot_interval_s`` seconds.
"""

from __future__ import annotations

import dataclasses
import os
import time
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from streamrec.config import Settings, StateSettings
from streamrec.errors import CorruptData
from streamrec.ids import IdMap
from streamrec.processing.cooccurrence import CooccurrenceIndex
from streamrec.processing.items import ItemTable
from streamrec.processing.profiles import ProfileTable
from streamrec.state.base import CatalogItem
from streamrec.state.memory.state import MemoryState

FORMAT_VERSION = 2


def save_snapshot(state: MemoryState, path: Path) -> dict[int, int]:
    """Write the state to ``path`` atomically (temp file, fsync, rename); return the
    log positions it holds."""
    with state.lock:
        positions = state.positions()
        meta = {
            "version": FORMAT_VERSION,
            "users": state.users.to_list(),
            "items": state.items.to_list(),
            "categories": state.categories.to_list(),
            "catalog": [dataclasses.asdict(item) for item in state.catalog.values()],
            "positions": {str(p): o for p, o in positions.items()},
            "landmark_ms": state.landmark_ms,
            "clock_ms": state.clock_ms,
        }
        arrays: dict[str, Any] = {
            f"profile.{k}": v.copy()
            for k, v in state.profiles.to_arrays(state.users.capacity).items()
        }
        arrays.update(
            {
                f"item.{k}": v.copy()
                for k, v in state.item_table.to_arrays(state.items.capacity).items()
            }
        )
        arrays.update({f"pairs.{k}": v for k, v in state.cooccurrence.to_arrays().items()})
    arrays["meta"] = np.frombuffer(orjson.dumps(meta), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".tmp")
    try:
        with temp.open("wb") as handle:
            np.savez(handle, **arrays)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        temp.unlink(missing_ok=True)  # a full disk must not keep a partial snapshot
        raise
    os.replace(temp, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return positions


def load_snapshot(settings: Settings, path: Path) -> MemoryState:
    """Rebuild a :class:`MemoryState` from a snapshot file.

    Raises
    ------
    CorruptData
        If the file cannot be read or has another format version.
    """
    try:
        with path.open("rb") as handle, np.load(handle, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
        meta = orjson.loads(arrays.pop("meta").tobytes())
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise CorruptData(f"snapshot {path} is unreadable: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("version") != FORMAT_VERSION:
        found = meta.get("version") if isinstance(meta, dict) else None
        raise CorruptData(f"snapshot {path} has format {found}, expected {FORMAT_VERSION}")
    try:
        return _restore(settings, arrays, meta)
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        raise CorruptData(f"snapshot {path} is inconsistent: {exc!r}") from exc


def _restore(
    settings: Settings, arrays: dict[str, np.ndarray], meta: dict[str, Any]
) -> MemoryState:
    def section(prefix: str) -> dict[str, np.ndarray]:
        return {k.removeprefix(prefix): v for k, v in arrays.items() if k.startswith(prefix)}

    state = MemoryState(settings)
    state.users = IdMap(meta["users"])
    state.items = IdMap(meta["items"])
    state.categories = IdMap(meta["categories"])
    state.restore_catalog([CatalogItem(**item) for item in meta["catalog"]])
    state.profiles = ProfileTable.from_arrays(settings.profile, section("profile."))
    state.item_table = ItemTable.from_arrays(section("item."))
    state.cooccurrence = CooccurrenceIndex.from_arrays(
        settings.cooccurrence.max_neighbors, section("pairs.")
    )
    state.landmark_ms = meta["landmark_ms"]
    state.clock_ms = meta["clock_ms"]
    state.set_positions({int(p): o for p, o in meta["positions"].items()})
    return state


class SnapshotSchedule:
    """Writes the state's snapshot when enough events or time went by, and on demand.

    Installed by the embedded wiring as the processor's after-batch hook; each
    snapshot also forgets users past the profile TTL (so the snapshot is as small
    as the active set). ``companions`` are saved right after the state (stores
    folded by the same processor, such as attribution counters); ``on_saved`` then
    hears of the positions the snapshot holds (the embedded log compacts up to them).
    """

    def __init__(
        self,
        state: MemoryState,
        path: Path,
        settings: StateSettings,
        companions: Sequence[Callable[[], None]] = (),
        on_saved: Callable[[dict[int, int]], object] = lambda positions: None,
    ) -> None:
        self.state = state
        self.path = path
        self.settings = settings
        self.companions = tuple(companions)
        self.on_saved = on_saved
        self._since = 0
        self._last = time.monotonic()

    def after_batch(self, events: int) -> None:
        """Count an applied batch; snapshot (after expiring stale users) when due."""
        self._since += events
        due = time.monotonic() - self._last >= self.settings.snapshot_interval_s
        if self._since >= self.settings.snapshot_every_events or due:
            self.state.expire(self.state.clock_ms)
            self.save()

    def save(self) -> None:
        """Write the snapshot and its companions now, then tell ``on_saved`` the
        positions the snapshot holds."""
        positions = save_snapshot(self.state, self.path)
        for save in self.companions:
            save()
        self.on_saved(positions)
        self._since = 0
        self._last = time.monotonic()
