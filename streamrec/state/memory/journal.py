"""The embedded catalog's durability: writes appended to a JSON-lines journal.

Every catalog write is appended and fsync'd before it is acknowledged; at start the
journal is replayed into the memory state, the last write of an item winning. A
torn last line (a crash mid-write) was never acknowledged and is skipped.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import orjson

from streamrec.state.base import CatalogItem


class CatalogJournal:
    """Catalog writes, appended durably as JSON lines and replayed on start."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def read(self) -> list[CatalogItem]:
        """Every item written so far, in write order (replay them as upserts)."""
        if not self.path.exists():
            return []
        items = []
        with self.path.open("rb") as handle:
            for line in handle:
                if line.endswith(b"\n"):  # a torn last line was never acknowledged
                    items.append(CatalogItem(**orjson.loads(line)))
        return items

    def append(self, items: Sequence[CatalogItem]) -> None:
        """Append and fsync before returning."""
        data = b"".join(orjson.dumps(dataclasses.asdict(i)) + b"\n" for i in items)
        with self._lock, self.path.open("ab") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
