"""The roles a streamrec process plays, each wired from the settings in one place.

- :func:`embedded_engine`: the whole engine in one process — a log (embedded by
  default), the memory state restored from its snapshot and kept snapshotted, the
  catalog journal, a stream-processor thread, the model registry and, for
  ``streamrec serve``, the retrain schedule; not ready until the log tail found at
  start is replayed (:mod:`streamrec.catchup`).
- :func:`api_replica`: a stateless scale-out API process — Kafka log, Redis state
  read through a fallback (answers built while Redis is down say ``fallback``).
- :func:`open_engine`: one of those two, chosen by the state URL
  (:func:`serving_engine` is what ``streamrec serve`` runs).
- :func:`in_memory_engine`: no files, events applied synchronously (evaluation).
- :func:`run_processor`: a scale-out worker folding a Kafka consumer group into Redis
  (with its own ``/metrics`` endpoint when ``metrics.port`` is set).
- :func:`run_archiver`: the history archiver, storing every Kafka event in PostgreSQL
  (the same, for its own consumer group).
- :func:`train`: the trainer, from the configured history into the model store.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from streamrec.backpressure import Backpressure
from streamrec.bootstrap.adapters import (
    catalog_journal_path,
    models_directory,
    open_history,
    open_log,
    open_memory_state,
    open_state,
    scheme_of,
    snapshot_path,
)
from streamrec.bootstrap.experiments import attribution_path, embedded_parts, memory_parts
from streamrec.catchup import StartupReplay
from streamrec.config import Settings
from streamrec.engine import Engine, StatePositions, partition_lag
from streamrec.errors import ConfigError
from streamrec.experiments.attributor import AttributedState
from streamrec.extras import MissingExtra, import_extra
from streamrec.history.archive import ARCHIVE_GROUP, HistoryArchiver
from streamrec.log.embedded import EmbeddedEventLog
from streamrec.models.bundle import ModelBundle
from streamrec.models.schedule import Baseline, RetrainScheduler
from streamrec.models.spark_als import train_spark_bundle
from streamrec.models.store import ModelStore
from streamrec.monitoring.consumers import ConsumerMetrics, serve_consumer_metrics
from streamrec.monitoring.telemetry import EngineTelemetry
from streamrec.processing.drift_monitor import DriftMonitor
from streamrec.processing.drift_reference import CategoryLookup
from streamrec.processing.runner import STATE_GROUP, StreamProcessor
from streamrec.recommend.model_sources import FixedModels, ModelRegistry
from streamrec.state.base import Catalog, ServingState
from streamrec.state.memory import MemoryState
from streamrec.state.memory.journal import CatalogJournal
from streamrec.state.memory.snapshot import SnapshotSchedule

log = logging.getLogger(__name__)

#: What the scale-out topology is given on the command line.
SCALEOUT_URLS = "--log kafka://host:port/topic --state redis://host:port/db[?cluster=true]"
#: What the archiver is given on the command line.
ARCHIVE_URLS = "--log kafka://host:port/topic --history postgresql://user@host:port/database"

#: Who fits the models: ``implicit`` in this process, or Spark MLlib (ALS).
Trainer = Literal["implicit", "spark"]
TRAINERS: tuple[Trainer, ...] = ("implicit", "spark")


def embedded_engine(settings: Settings, *, retrain: bool = False) -> Engine[MemoryState]:
    """The durable single-process engine of ``settings``.

    Loads the state snapshot, replays the catalog journal, watches the model store,
    and starts a processor that replays the log from the snapshot's positions and
    then follows it; its telemetry holds the processor's metrics (with freshness),
    the drift of the applied events and served scores, and the state's cache
    counters. With ``retrain`` the engine also retrains on the
    ``models.retrain_every_*`` schedule (only this topology does: its process owns
    the log, so exactly one trainer runs per history).

    Raises
    ------
    ConfigError
        For a state URL other than ``memory``, or a log URL no adapter serves.
    """
    if scheme_of(settings.state.url) != "memory":
        raise ConfigError(
            f"the embedded engine keeps its state in memory, not {settings.state.url!r} "
            f"(a remote state is the scale-out topology: {SCALEOUT_URLS})"
        )
    state = open_memory_state(settings)
    journal = CatalogJournal(catalog_journal_path(settings.data_dir))
    journal.replay(state)
    event_log = open_log(settings)
    registry = ModelRegistry(ModelStore(models_directory(settings.data_dir)))
    parts = embedded_parts(settings)
    attribution_file = attribution_path(settings.data_dir)
    compact = event_log.compact if isinstance(event_log, EmbeddedEventLog) else None
    snapshots = SnapshotSchedule(
        state,
        snapshot_path(settings.data_dir),
        settings.state,
        companions=(lambda: parts.attribution.save(attribution_file),),
        on_saved=(lambda held: compact(held.get(0, 0))) if compact else lambda held: None,
    )
    folded = AttributedState(state, parts.attributor)
    consumer = event_log.consumer(STATE_GROUP)
    consumer.seek(folded.positions() or {0: 0})
    metrics = ConsumerMetrics(
        STATE_GROUP,
        lambda: partition_lag(event_log.end_positions(), state.positions()),
        freshness=True,
    )
    drift = DriftMonitor(settings.drift, primary_categories(state), lambda: _manifest(registry))
    processor = StreamProcessor(
        consumer,
        folded,
        settings.processor,
        on_applied=snapshots.after_batch,
        observers=(metrics, drift),
    )
    caches = {"neighbors": state.neighbor_cache, "rankings": state.ranking_cache}
    engine = Engine(
        settings,
        state,
        log=event_log,
        progress=processor,
        journal=journal,
        models=registry,
        telemetry=EngineTelemetry(metrics, drift, caches),
        attributor=parts.attributor,
        experiment_store=parts.store,
    )
    engine.replay = StartupReplay(
        event_log.end_positions(), state.positions, settings.serving.replay_wait_s
    )
    engine.admission = _backpressure(engine, refresh_s=0.0)
    engine.on_close(event_log.close)
    engine.on_close(parts.attributor.served_log.close)
    engine.on_close(snapshots.save)
    registry.start()
    engine.on_close(registry.stop)
    processor.start()
    engine.on_close(processor.stop)
    if retrain:
        engine.retrain = _retrain_schedule(engine, registry)
    return engine


def _backpressure(engine: Engine[Any], refresh_s: float) -> Backpressure:
    """Writes refused past ``serving.max_lag_events`` of processor lag."""
    serving = engine.settings.serving
    return Backpressure(engine.lag, serving.max_lag_events, serving.retry_after_s, refresh_s)


def primary_categories(catalog: Catalog) -> CategoryLookup:
    """The primary (first) category of items in ``catalog``, for drift monitoring."""

    def lookup(item_ids: Sequence[str]) -> list[str | None]:
        return [
            item.categories[0] if item and item.categories else None
            for item in catalog.get(item_ids)
        ]

    return lookup


def _manifest(registry: ModelRegistry) -> Mapping[str, Any] | None:
    bundle = registry.bundle
    return bundle.manifest if bundle is not None else None


def _retrain_schedule(engine: Engine[Any], registry: ModelRegistry) -> RetrainScheduler | None:
    """Start retraining on the models' schedule (``None`` when it is off or cannot run)."""
    schedule = engine.settings.models
    if schedule.retrain_every_events <= 0 and schedule.retrain_every_s <= 0:
        return None
    try:
        import_extra("implicit", "models", "scheduled retraining")
    except MissingExtra as exc:
        log.warning("no scheduled retraining: %s", exc)
        return None
    bundle = registry.bundle
    scheduler = RetrainScheduler(
        engine.settings,
        train,
        engine.applied_events,
        Baseline.of(bundle.manifest if bundle else None, engine.applied_events()),
        on_published=lambda version: registry.refresh(),
    )
    scheduler.start()
    engine.on_close(scheduler.stop)
    return scheduler


def require_scaleout(settings: Settings) -> None:
    """Check that ``settings`` name a Kafka log and a Redis state, in full.

    Raises
    ------
    ConfigError
        For another log or state, or a malformed URL (the message names both flags).
    MissingExtra
        When the ``kafka`` or ``redis`` extra is missing.
    """
    kafka = import_extra("streamrec.log.kafka", "kafka", "the scale-out topology")
    keys = import_extra("streamrec.state.redis.keys", "redis", "the scale-out topology")
    try:
        kafka.KafkaTarget.parse(settings.log.url)
        keys.RedisTarget.parse(settings.state.url)
    except ConfigError as exc:
        raise ConfigError(f"the scale-out topology needs {SCALEOUT_URLS}: {exc}") from None


def api_replica(settings: Settings) -> Engine[Any]:
    """A stateless scale-out API process: events to Kafka, reads from Redis.

    Reads go through a fallback (a cached popularity list while Redis is down) with
    the socket timeout ``serving.state_timeout_s``; models come from the model store
    under ``settings.data_dir`` (shared storage when there are several replicas).
    Its telemetry watches the drift of the scores it serves and its ranking cache
    (the workers applying the events serve their own metrics).

    Raises
    ------
    ConfigError
        Unless the log is ``kafka://…`` and the state ``redis://…``.
    BackendUnavailable
        If Kafka or Redis cannot be reached at start.
    """
    require_scaleout(settings)
    fallback = import_extra("streamrec.state.redis.fallback", "redis", "the Redis online state")
    timeout = settings.state.model_copy(update={"timeout_s": settings.serving.state_timeout_s})
    redis = open_state(settings.model_copy(update={"state": timeout}))
    event_log = open_log(settings)
    registry = ModelRegistry(ModelStore(models_directory(settings.data_dir)))
    reads = fallback.FallbackState(redis)
    state: ServingState = reads
    drift = DriftMonitor(settings.drift, primary_categories(state), lambda: _manifest(registry))
    engine = Engine(
        settings,
        state,
        log=event_log,
        progress=StatePositions(redis),
        models=registry,
        read_watch=fallback.degradation_watch,
        telemetry=EngineTelemetry(drift=drift, caches={"rankings": reads.ranking_cache}),
    )
    engine.replay = StartupReplay(
        event_log.end_positions(), redis.positions, settings.serving.replay_wait_s
    )
    engine.admission = _backpressure(engine, refresh_s=1.0)
    engine.on_close(state.close)
    engine.on_close(event_log.close)
    registry.start()
    engine.on_close(registry.stop)
    return engine


def open_engine(settings: Settings, *, retrain: bool = False) -> Engine[Any]:
    """The engine of ``settings``: embedded for a ``memory`` state (retraining on
    schedule with ``retrain``), an API replica for a remote one."""
    if scheme_of(settings.state.url) == "memory":
        return embedded_engine(settings, retrain=retrain)
    return api_replica(settings)


def serving_engine(settings: Settings) -> Engine[Any]:
    """The engine ``streamrec serve`` runs: :func:`open_engine` with retraining."""
    return open_engine(settings, retrain=True)


def in_memory_engine(
    settings: Settings | None = None, models: ModelBundle | None = None
) -> Engine[MemoryState]:
    """An engine with no files: :meth:`Engine.ingest` applies events at once.

    ``models``, when given, are its batch-model candidate sources.
    """
    settings = settings or Settings()
    fixed = FixedModels(models) if models is not None else None
    parts = memory_parts(settings)
    return Engine(
        settings,
        MemoryState(settings),
        models=fixed,
        attributor=parts.attributor,
        experiment_store=parts.store,
    )


def run_processor(settings: Settings, stop: threading.Event, group: str = STATE_GROUP) -> None:
    """Consume ``settings.log.url`` into ``settings.state.url`` until ``stop`` is set.

    With ``metrics.port`` set, ``http://metrics.host:metrics.port/metrics`` serves the
    worker's batches, write latency, failures and lag per assigned partition.

    Raises
    ------
    ConfigError
        Unless the log is ``kafka://…`` and the state ``redis://…``.
    BackendUnavailable
        If Kafka or Redis cannot be reached at start.
    """
    require_scaleout(settings)
    worker_module = import_extra("streamrec.scaleout.worker", "kafka", "a scale-out processor")
    event_log = open_log(settings)
    state = open_state(settings)
    worker = worker_module.Worker(event_log, state, settings.processor, group)
    try:
        with serve_consumer_metrics(
            "process", group, settings.metrics, worker.lag_by_partition
        ) as metrics:
            worker.observers.append(metrics)
            worker.run(stop)
    finally:
        worker.close()
        state.close()
        event_log.close()


def require_archive_urls(settings: Settings) -> None:
    """Check that ``settings`` name a Kafka log and a PostgreSQL history.

    Raises
    ------
    ConfigError
        For another scheme (the message names both flags).
    """
    problems = []
    if scheme_of(settings.log.url) != "kafka":
        problems.append(f"the log URL {settings.log.url!r} is not kafka://…")
    if scheme_of(settings.history.url) not in ("postgresql", "postgres"):
        problems.append(f"the history URL {settings.history.url!r} is not postgresql://…")
    if problems:
        raise ConfigError(f"streamrec archive needs {ARCHIVE_URLS}: {'; '.join(problems)}")


def run_archiver(settings: Settings, stop: threading.Event, group: str = ARCHIVE_GROUP) -> None:
    """Archive ``settings.log.url`` into ``settings.history.url`` until ``stop`` is set.

    The archiver reconnects to the history after a failed write, so it is given a
    way to open it again.

    Raises
    ------
    ConfigError
        Unless the log is ``kafka://…`` and the history ``postgresql://…``, for a
        malformed URL, a missing install extra, or a history schema not migrated.
    BackendUnavailable
        If Kafka or PostgreSQL cannot be reached at start.
    """
    require_archive_urls(settings)
    kafka = import_extra("streamrec.log.kafka", "kafka", "streamrec archive")
    postgres = import_extra("streamrec.history.postgres", "postgres", "streamrec archive")
    event_log = open_log(settings)
    try:
        first = open_history(settings)
        try:
            if not isinstance(first, postgres.PostgresHistory) or not isinstance(
                event_log, kafka.KafkaEventLog
            ):
                raise ConfigError(f"streamrec archive needs {ARCHIVE_URLS}")
            first.require_current_schema()
        finally:
            first.close()
        archiver = HistoryArchiver(
            event_log, lambda: open_history(settings), settings.archive, group
        )
        try:
            with serve_consumer_metrics(
                "archive", group, settings.metrics, archiver.lag_by_partition
            ) as metrics:
                archiver.observers.append(metrics)
                archiver.run(stop)
        finally:
            archiver.close()
    finally:
        event_log.close()


def train(
    settings: Settings,
    trainer: Trainer = "implicit",
    *,
    force: bool = False,
    since_ms: int | None = None,
    until_ms: int | None = None,
) -> str:
    """Train on the history, publish atomically; return the version.

    The ``implicit`` trainer chooses the models and the serving blend on a
    validation split of the events with ``since_ms <= t < until_ms`` (all by
    default) and publishes them together, only when they beat popularity and the
    served configuration there unless ``force``; see
    :func:`streamrec.evaluation.selection.train_and_publish_selected`. The scheduled
    retraining runs this too. ``trainer="spark"`` fits ALS on Spark
    (``models.spark``) over the whole history and publishes the same artifact; see
    :func:`streamrec.models.spark_als.train_spark_bundle`. The catalog is the
    embedded journal under ``settings.data_dir``, the models go to its store.

    Raises
    ------
    ConfigError
        If ``trainer`` is not one of :data:`TRAINERS`.
    MissingExtra
        If the trainer's extra (``models``, or ``spark``) is missing.
    PublishRefused
        When validation does not justify publishing (the message says why).
    """
    if trainer not in TRAINERS:
        raise ConfigError(f"unknown trainer {trainer!r} (known: {', '.join(TRAINERS)})")
    history = open_history(settings)
    try:
        catalog = CatalogJournal(catalog_journal_path(settings.data_dir)).read()
        store = ModelStore(models_directory(settings.data_dir))
        if trainer == "implicit":
            import_extra("implicit", "models", "training the batch models")
            selection = import_extra(
                "streamrec.evaluation.selection", "models", "training the batch models"
            )
            version: str = selection.train_and_publish_selected(
                history,
                catalog,
                store,
                settings,
                force=force,
                since_ms=since_ms,
                until_ms=until_ms,
            )
            return version
        bundle = train_spark_bundle(
            history.scan(), catalog, settings.models, weights=settings.weights
        )
        version = store.publish(bundle)
        store.prune(settings.models.keep_versions)
        return version
    finally:
        history.close()
