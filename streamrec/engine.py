"""The composition root: builds adapters from settings and wires the services.

The CLI, the HTTP app's lifespan, the benchmarks and the tests all get an engine
from here. ``Engine.open`` runs the durable embedded topology (event log on disk,
memory state snapshotted with the log position it reflects, a stream processor
thread); ``Engine.in_memory`` applies events synchronously with no files, for
evaluation and tests.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar

import orjson

from streamrec.adapters import (
    adapter_class,
    catalog_journal_path,
    log_directory,
    models_directory,
    snapshot_path,
)
from streamrec.config import Settings
from streamrec.errors import ConfigError
from streamrec.events import EventBatch
from streamrec.log.base import EventLog
from streamrec.models.bundle import ModelBundle
from streamrec.models.schedule import Baseline, RetrainScheduler
from streamrec.models.store import ModelStore
from streamrec.processing.runner import StreamProcessor
from streamrec.recommend.model_sources import FixedModels, ModelRegistry, model_sources
from streamrec.recommend.recommender import Recommender
from streamrec.recommend.types import Recommendation
from streamrec.state.base import CatalogItem, ServingState
from streamrec.state.memory import MemoryState
from streamrec.state.memory.snapshot import load_snapshot, save_snapshot

log = logging.getLogger(__name__)
CONSUMER_GROUP = "streamrec-state"

#: The state an engine serves from: :class:`MemoryState` embedded, a Redis-backed
#: state in a scale-out API replica.
StateT = TypeVar("StateT", bound=ServingState)


class CatalogJournal:
    """Catalog writes, appended durably as JSON lines and replayed on start."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def read(self) -> list[CatalogItem]:
        """Every item written so far, last write per item winning on upsert."""
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


class Engine(Generic[StateT]):
    """A running streamrec: state, catalog, optional log and processor, recommender.

    Typed on its state: the embedded constructors give an ``Engine[MemoryState]``,
    :mod:`streamrec.scaleout.engine` an engine over Redis.
    """

    #: Builds the recommender over the state (a subclass may wrap its answers).
    recommender_class: type[Recommender] = Recommender

    def __init__(
        self,
        settings: Settings,
        state: StateT,
        log: EventLog | None = None,
        journal: CatalogJournal | None = None,
        models: ModelRegistry | FixedModels | None = None,
    ) -> None:
        self.settings = settings
        self.state = state
        self.log = log
        self.journal = journal
        self.models = models
        self.recommender = self.recommender_class(
            state,
            state,
            settings.recommend,
            sources=(lambda: model_sources(models, settings.weights)) if models else tuple,
            model_version=(lambda: models.version) if models else lambda: None,
        )
        self.processor: StreamProcessor | None = None
        self.retrain: RetrainScheduler | None = None
        self._since_snapshot = 0
        self._last_snapshot = time.monotonic()

    # -- construction ---------------------------------------------------------

    @staticmethod
    def in_memory(
        settings: Settings | None = None, models: ModelBundle | None = None
    ) -> Engine[MemoryState]:
        """An engine with no files: :meth:`apply` updates the state synchronously.

        ``models``, when given, are its batch-model candidate sources.
        """
        settings = settings or Settings()
        fixed = FixedModels(models) if models is not None else None
        return Engine(settings, MemoryState(settings), models=fixed)

    @staticmethod
    def open(settings: Settings) -> Engine[MemoryState]:
        """The durable engine of ``settings``: load the snapshot, replay the log tail.

        Raises
        ------
        ConfigError
            For a URL whose adapter is not available in this topology.
        """
        if settings.state.url != "memory":
            raise ConfigError(f"state URL {settings.state.url!r} needs `streamrec serve --state`")
        data_dir = settings.data_dir
        snapshot = snapshot_path(data_dir)
        state = load_snapshot(settings, snapshot) if snapshot.exists() else MemoryState(settings)
        journal = CatalogJournal(catalog_journal_path(data_dir))
        state.upsert(journal.read())
        log_class = adapter_class("log", settings.log.url)
        if settings.log.url == "embedded":
            event_log = log_class.open(log_directory(data_dir), settings.log)
        else:
            event_log = log_class.connect(settings.log.url)
        models = ModelRegistry(ModelStore(models_directory(data_dir)))
        models.start()
        engine = Engine(settings, state, event_log, journal, models)
        consumer = event_log.consumer(CONSUMER_GROUP)
        consumer.seek(state.positions() or {0: 0})
        engine.processor = StreamProcessor(
            consumer, state, settings.processor, on_applied=engine._after_batch
        )
        engine.processor.start()
        return engine

    def start_retraining(self) -> RetrainScheduler | None:
        """Retrain on the ``models.retrain_every_*`` schedule while this engine runs.

        Only the embedded topology retrains by itself: its process owns the log, so
        exactly one trainer runs per history. Scale-out API replicas return
        ``None`` (schedule ``streamrec train`` next to the workers instead), as does
        a schedule with both thresholds at 0. The scheduler stops with :meth:`close`.
        """
        schedule = self.settings.models
        enabled = schedule.retrain_every_events > 0 or schedule.retrain_every_s > 0
        registry = self.models
        if not enabled or self.processor is None or not isinstance(registry, ModelRegistry):
            return None
        from streamrec.training import train_from_history  # it imports this module

        bundle = registry.bundle
        self.retrain = RetrainScheduler(
            self.settings,
            train_from_history,
            self.applied_events,
            Baseline.of(bundle.manifest if bundle else None, self.applied_events()),
            on_published=lambda version: registry.refresh(),
        )
        self.retrain.start()
        return self.retrain

    # -- events ---------------------------------------------------------------

    def apply(self, batch: EventBatch) -> None:
        """Apply events straight to the state (in-memory engines, evaluation)."""
        self.state.apply(batch)

    def ingest(self, batch: EventBatch, wait: bool = False) -> EventBatch:
        """Append events durably; with ``wait``, return once the state reflects them.

        Returns the batch with log offsets. An engine without a log applies directly.
        """
        if self.log is None:
            self.state.apply(batch)
            return batch
        logged = self.log.append(batch)
        if wait and self.processor is not None:
            targets: dict[int, int] = {}
            for partition, offset in zip(
                logged.partition.tolist(), logged.offset.tolist(), strict=True
            ):
                targets[partition] = max(targets.get(partition, 0), offset + 1)
            if not self.processor.wait_for(targets, self.settings.serving.wait_timeout_s):
                raise TimeoutError("events are durable but not yet applied to the online state")
        return logged

    def recommend(
        self, user_id: str, k: int, *, exclude: Collection[str] = (), **options: Any
    ) -> Recommendation:
        """The user's top ``k`` (see :meth:`Recommender.recommend` for the options)."""
        return self.recommender.recommend(user_id, k, exclude=exclude, **options)

    def upsert_items(self, items: Sequence[CatalogItem]) -> None:
        """Durably record catalog items, then make them visible."""
        if self.journal is not None:
            self.journal.append(items)
        self.state.upsert(items)

    # -- lifecycle ------------------------------------------------------------

    def applied_events(self) -> int:
        """How many log events the state has applied (its summed log positions)."""
        return sum(self.state.positions().values())

    def lag(self) -> int:
        """Events durable in the log but not yet applied."""
        if self.log is None:
            return 0
        applied = self.state.positions()
        return sum(end - applied.get(p, 0) for p, end in self.log.end_positions().items())

    def snapshot(self) -> None:
        """Write the state snapshot now (embedded engines: a log and a memory state)."""
        if self.log is not None and isinstance(self.state, MemoryState):
            save_snapshot(self.state, snapshot_path(self.settings.data_dir))
            self._since_snapshot = 0
            self._last_snapshot = time.monotonic()

    def _after_batch(self, events: int) -> None:
        self._since_snapshot += events
        due = time.monotonic() - self._last_snapshot >= self.settings.state.snapshot_interval_s
        if self._since_snapshot >= self.settings.state.snapshot_every_events or due:
            self.snapshot()
            if isinstance(self.state, MemoryState):
                self.state.expire(self.state.clock_ms)

    def close(self) -> None:
        """Stop retraining, processing and model watching, snapshot, release the log."""
        if self.retrain is not None:
            self.retrain.stop()
        if isinstance(self.models, ModelRegistry):
            self.models.stop()
        if self.processor is not None:
            self.processor.stop()
        if self.log is not None:
            self.snapshot()
            self.log.close()


def engine_factory(settings: Settings) -> Callable[[Settings], Engine[Any]]:
    """How ``streamrec serve`` opens the engine of ``settings``.

    The state URL picks the topology: ``memory`` is the embedded engine
    (:meth:`Engine.open`), any other a stateless scale-out API replica over Kafka and
    Redis (:func:`streamrec.scaleout.engine.build_scaleout_engine`), whose URLs are
    checked here, before the server starts.

    Raises
    ------
    ConfigError
        For a scale-out topology without a Kafka log and a Redis state.
    """
    if settings.state.url == "memory":
        return Engine.open
    from streamrec.scaleout.engine import build_scaleout_engine
    from streamrec.scaleout.topology import require_scaleout

    require_scaleout(settings)
    return build_scaleout_engine
