"""The experiment parts of each topology: served-list log, attribution, definitions.

- embedded: served lists under ``<data_dir>/served/``, the attribution store in
  memory (saved beside the state snapshot as ``<data_dir>/state/attribution.json``),
  definitions in ``<data_dir>/experiments.json``;
- no files (:func:`~streamrec.bootstrap.roles.in_memory_engine`): all in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from streamrec.config import Settings
from streamrec.experiments.attributor import Attributor
from streamrec.experiments.memory_store import MemoryAttribution
from streamrec.experiments.served_log import SERVED_DIR, EmbeddedServedLog, MemoryServedLog
from streamrec.experiments.store import FileExperimentStore, MemoryExperimentStore


@dataclass(frozen=True, slots=True)
class ExperimentParts:
    """What an engine is given for experiments."""

    attributor: Attributor
    store: MemoryExperimentStore
    attribution: MemoryAttribution


def attribution_path(data_dir: Path) -> Path:
    """Where the embedded attribution store is saved."""
    return data_dir / "state" / "attribution.json"


def embedded_parts(settings: Settings) -> ExperimentParts:
    """Files under the data directory, the store restored from its last save."""
    served_log = EmbeddedServedLog(
        settings.data_dir / SERVED_DIR, settings.experiments, fsync=settings.log.fsync
    )
    attribution = MemoryAttribution.load(settings.experiments, attribution_path(settings.data_dir))
    store = FileExperimentStore(settings.data_dir / "experiments.json")
    return ExperimentParts(Attributor(served_log, attribution), store, attribution)


def memory_parts(settings: Settings) -> ExperimentParts:
    """Everything in this process."""
    attribution = MemoryAttribution(settings.experiments)
    served_log = MemoryServedLog(settings.experiments)
    return ExperimentParts(
        Attributor(served_log, attribution), MemoryExperimentStore(), attribution
    )
