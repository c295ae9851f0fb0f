"""The embedded catalog's durability: writes appended to a JSON-lines journal.

Every catalog write is appended and fsync'd before it is acknowledged; at start the
journal is replayed into the memory state, the last write of an item winning. A
deletion is a line ``{"deleted": item_id}``. A torn last line (a crash mid-write)
was never acknowledged and is skipped.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import orjson

from streamrec.errors import Overloaded
from streamrec.state.base import Catalog, CatalogItem


class CatalogJournal:
    """Catalog writes, appended durably as JSON lines and replayed on start."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def entries(self) -> tuple[list[CatalogItem], list[str]]:
        """The catalog the journal holds: the items (the last write of each, in order
        of first write) and the ids deleted since their last write."""
        current: dict[str, CatalogItem | None] = {}
        if self.path.exists():
            with self.path.open("rb") as handle:
                for line in handle:
                    if not line.endswith(b"\n"):  # a torn last line was never acknowledged
                        continue
                    record = orjson.loads(line)
                    if "deleted" in record:
                        current[record["deleted"]] = None
                    else:
                        current[record["item_id"]] = CatalogItem(**record)
        items = [item for item in current.values() if item is not None]
        return items, [name for name, item in current.items() if item is None]

    def read(self) -> list[CatalogItem]:
        """The items of the catalog (deleted ones left out)."""
        return self.entries()[0]

    def replay(self, catalog: Catalog) -> None:
        """Bring ``catalog`` (restored from a snapshot, or empty) to the journal's."""
        items, deleted = self.entries()
        catalog.upsert(items)
        catalog.remove(deleted)

    def remove(self, item_ids: Sequence[str]) -> None:
        """Record deletions; fsync before returning."""
        self._write(b"".join(orjson.dumps({"deleted": i}) + b"\n" for i in item_ids))

    def append(self, items: Sequence[CatalogItem]) -> None:
        """Append and fsync before returning."""
        self._write(b"".join(orjson.dumps(dataclasses.asdict(i)) + b"\n" for i in items))

    def _write(self, data: bytes) -> None:
        """Append and fsync; a failed write is cut off again, so the journal never
        holds a torn line before a later one.

        Raises
        ------
        Overloaded
            If the disk is full (nothing was recorded).
        """
        with self._lock, self.path.open("ab", buffering=0) as handle:
            size = handle.tell()
            try:
                view = memoryview(data)
                while view:
                    view = view[handle.write(view) or 0 :]
                os.fsync(handle.fileno())
            except OSError as exc:
                handle.truncate(size)
                if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                    raise Overloaded(f"catalog journal {self.path}: the disk is full", 5.0) from exc
                raise
