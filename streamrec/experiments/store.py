"""Where experiment definitions live: a JSON file embedded, memory with no files.

Definitions are small and rarely written; every replica reads them back (the
file, or Redis in the scale-out topology: :mod:`streamrec.experiments.redis_store`).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Protocol, runtime_checkable

import orjson

from streamrec.errors import CorruptData
from streamrec.experiments.definition import Experiment


@runtime_checkable
class ExperimentStore(Protocol):
    """Experiment definitions by id."""

    def put(self, experiment: Experiment) -> None:
        """Store (or replace) ``experiment`` durably."""
        ...

    def all(self) -> list[Experiment]:
        """Every stored experiment, in id order."""
        ...


class MemoryExperimentStore:
    """Definitions in this process only."""

    def __init__(self) -> None:
        self._experiments: dict[str, Experiment] = {}
        self._lock = threading.Lock()

    def put(self, experiment: Experiment) -> None:
        """Keep ``experiment``."""
        with self._lock:
            self._experiments[experiment.experiment_id] = experiment

    def all(self) -> list[Experiment]:
        """Every experiment, in id order."""
        with self._lock:
            return [self._experiments[k] for k in sorted(self._experiments)]


class FileExperimentStore(MemoryExperimentStore):
    """Definitions in one JSON file, rewritten atomically on every change."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        if path.exists():
            try:
                for raw in orjson.loads(path.read_bytes()):
                    super().put(Experiment.model_validate(raw))
            except (orjson.JSONDecodeError, ValueError, TypeError) as exc:
                raise CorruptData(f"experiments file {path} is unreadable: {exc}") from None

    def put(self, experiment: Experiment) -> None:
        """Store ``experiment`` and rewrite the file (temp file, fsync, rename)."""
        super().put(experiment)
        data = orjson.dumps([e.model_dump() for e in self.all()])
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_name(self.path.name + ".tmp")
        with temp.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, self.path)
