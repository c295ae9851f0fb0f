"""The engine: one running streamrec, seen from the API and the commands.

:class:`Engine` is a plain service object over ports: an online state (which is
also the catalog), optionally an event log, the progress of whatever applies the
log to the state, the batch models in use and a retrain schedule. It builds
nothing itself: :mod:`streamrec.bootstrap` wires the embedded engine and the
scale-out API replica and hands their parts in, together with the hooks of each
topology (snapshots, a degradation watch, what to release on close) and its
telemetry (processor metrics, drift, cache counters).

Callers use its methods (``ingest``, ``recommend``, ``catch_up``, ``status``…)
rather than reaching through it to its parts.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from streamrec.backpressure import Backpressure
from streamrec.catchup import REPLAYING, ReplayProgress, StartupReplay
from streamrec.config import Settings
from streamrec.erasures import erasure_batch
from streamrec.errors import BackendUnavailable
from streamrec.events import EventBatch
from streamrec.experiments.attributor import Attributor
from streamrec.experiments.live import live_report
from streamrec.experiments.served import RECOMMENDATIONS, SIMILAR
from streamrec.experiments.service import Experiments
from streamrec.experiments.store import ExperimentStore, MemoryExperimentStore
from streamrec.log.base import EventLog, Positions
from streamrec.models.schedule import RetrainScheduler, RetrainStatus
from streamrec.models.tuned import AppliedSettings, TunedSettings
from streamrec.monitoring.telemetry import EngineTelemetry
from streamrec.processing.drift_monitor import FeatureDrift
from streamrec.recommend.explain import Explanation, explain
from streamrec.recommend.model_sources import FixedModels, ModelRegistry, model_sources
from streamrec.recommend.recommender import Recommender
from streamrec.recommend.request import Request
from streamrec.recommend.slots import EditorialList
from streamrec.recommend.types import Recommendation
from streamrec.state.base import (
    CatalogItem,
    Inventory,
    ItemStats,
    Ranking,
    ServingState,
    StateSizes,
    UserProfile,
)
from streamrec.state.memory.journal import CatalogJournal

log = logging.getLogger(__name__)

#: The state an engine serves from: a memory state embedded, Redis (read through a
#: fallback) in a scale-out API replica.
StateT = TypeVar("StateT", bound=ServingState)

#: Opens a watch over the reads of one request; the watch answers whether any of
#: them was served degraded (from a fallback instead of the state).
ReadWatch = Callable[[], AbstractContextManager[Callable[[], bool]]]


class Progress(Protocol):
    """How far the online state has applied the log (a processor, or a poll of the
    state's own positions when other processes apply it)."""

    @property
    def last_error(self) -> str | None:
        """The error of the last failed step, ``None`` while healthy."""
        ...

    def wait_for(self, positions: Mapping[int, int], timeout_s: float) -> bool:
        """Block until everything before ``positions`` is applied; False on timeout."""
        ...


class StatePositions:
    """:class:`Progress` read from the state's positions, for engines whose state is
    applied by other processes (scale-out workers)."""

    last_error: str | None = None

    def __init__(self, state: ServingState, poll_interval_s: float = 0.02) -> None:
        self.state = state
        self.poll_interval_s = poll_interval_s

    def wait_for(self, positions: Mapping[int, int], timeout_s: float) -> bool:
        """Poll the state's positions until they reach ``positions``."""
        deadline = time.monotonic() + timeout_s
        while True:
            applied = self.state.positions()
            if all(applied.get(p, 0) >= o for p, o in positions.items()):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(self.poll_interval_s)


@contextmanager
def _never_degraded() -> Iterator[Callable[[], bool]]:
    yield lambda: False


@dataclass(frozen=True, slots=True)
class EngineStatus:
    """What ``/readyz`` reports."""

    ready: bool
    lag: int
    model_version: str | None
    processor_error: str | None
    retrain: RetrainStatus | None
    drift: tuple[FeatureDrift, ...] = ()
    serving: AppliedSettings | None = None
    replay: ReplayProgress | None = None
    model_error: str | None = None


class Engine(Generic[StateT]):
    """A running streamrec: state and catalog, optional log, models, recommender.

    Parameters
    ----------
    settings
        The whole settings tree.
    state
        The online state, which is also the catalog.
    log
        Where events are appended; ``None`` applies them straight to the state
        (offline evaluation, tests).
    progress
        How far the state has applied the log (required with a log).
    journal
        Durable catalog writes of an embedded engine (replayed at start).
    models
        The batch models used as candidate sources.
    read_watch
        Watches a request's state reads for degraded answers (scale-out replicas
        flag answers built from a fallback).
    telemetry
        What the engine's operators watch: its processor's metrics (whose freshness
        clock hears of every append), drift and cache counters.
    attributor
        The served-list log and the attribution counters (``None``: lists are not
        logged).
    experiment_store
        Where experiment definitions live (in memory when not given).
    """

    def __init__(
        self,
        settings: Settings,
        state: StateT,
        *,
        log: EventLog | None = None,
        progress: Progress | None = None,
        journal: CatalogJournal | None = None,
        models: ModelRegistry | FixedModels | None = None,
        read_watch: ReadWatch = _never_degraded,
        telemetry: EngineTelemetry | None = None,
        attributor: Attributor | None = None,
        experiment_store: ExperimentStore | None = None,
    ) -> None:
        self.settings = settings
        self.state = state
        self.log = log
        self.progress = progress
        self.journal = journal
        self.models = models
        self.read_watch = read_watch
        self.telemetry = telemetry or EngineTelemetry()
        processor = self.telemetry.processor
        self._acceptance = processor.acceptance if processor is not None else None
        self._drift = self.telemetry.drift
        self.retrain: RetrainScheduler | None = None
        self.replay: StartupReplay | None = None
        self.admission: Backpressure | None = None
        self.editorial = EditorialList()
        self.tuned = TunedSettings(settings, models)
        self.recommender = self._recommender(settings, self.tuned)
        self.attributor = attributor
        self.experiments = Experiments(
            settings,
            experiment_store or MemoryExperimentStore(),
            self.recommender_for,
            self.recommender,
            attributor.served_log if attributor is not None else None,
        )
        self._closers: list[Callable[[], None]] = [self.experiments.close]

    def recommender_for(self, settings: Settings) -> Recommender:
        """A recommender over this engine's state and models, built from ``settings``
        (an experiment variant's merged settings: every key of it counts as set
        explicitly, so a model version's tuned values do not replace them)."""
        return self._recommender(settings, TunedSettings(settings, self.models))

    def _recommender(self, settings: Settings, tuned: TunedSettings) -> Recommender:
        models = self.models
        return Recommender(
            self.state,
            self.state,
            tuned.recommend,
            sources=(lambda: model_sources(models, settings.weights)) if models else tuple,
            model_version=(lambda: models.version) if models else lambda: None,
            editorial=self.editorial,
        )

    def use_recommender(self, recommender: Recommender) -> None:
        """Serve lists outside experiments from ``recommender`` (one built with other
        sources, say) instead of the one built from the settings."""
        self.recommender.close()
        self.recommender = recommender
        self.experiments.use_default(recommender)

    # -- events ---------------------------------------------------------------

    def ingest(self, batch: EventBatch, wait: bool = False) -> EventBatch:
        """Append events durably; with ``wait``, return once the state reflects them.

        Returns the batch with log offsets. An engine without a log applies directly.

        Raises
        ------
        TimeoutError
            If ``wait`` and the state did not apply the events within
            ``serving.wait_timeout_s`` (they are durable all the same).
        Overloaded
            If the processor is too far behind (see :mod:`streamrec.backpressure`);
            nothing was stored.
        """
        if self.log is None:
            if self.attributor is not None:
                self.attributor.apply(batch)
            self.state.apply(batch)
            return batch
        if self.admission is not None:
            self.admission.check()
        logged = self.log.append(batch)
        if self._acceptance is not None:
            self._acceptance.accepted(logged)
        if wait and not self._wait_for(_ends(logged), self.settings.serving.wait_timeout_s):
            raise TimeoutError("events are durable but not yet applied to the online state")
        return logged

    def catch_up(self, timeout_s: float) -> bool:
        """Wait until the state reflects every event in the log now; False on timeout."""
        if self.log is None:
            return True
        return self._wait_for(self.log.end_positions(), timeout_s)

    def _wait_for(self, positions: Mapping[int, int], timeout_s: float) -> bool:
        if self.progress is None:
            raise RuntimeError("an engine with a log needs a progress to wait on")
        return self.progress.wait_for(positions, timeout_s)

    def upsert_items(self, items: Sequence[CatalogItem]) -> None:
        """Durably record catalog items, then make them visible (and give them content
        neighbours at once where a content model is loaded)."""
        if self.journal is not None:
            self.journal.append(items)
        self.state.upsert(items)
        if self.models is not None:
            self.models.add_items(items)

    def erase(self, users: Sequence[str] = (), items: Sequence[str] = ()) -> bool:
        """Delete users and items everywhere: catalog entries at once (durably), the
        rest through an erasure record in the log (see :mod:`streamrec.erasures`).

        Returns whether the online state applied the erasure within
        ``serving.wait_timeout_s`` (it is durable either way).
        """
        if items:
            if self.journal is not None:
                self.journal.remove(items)
            self.state.remove(items)
        batch = erasure_batch(users, items)
        if self.log is None:
            self.state.apply(batch)
            return True
        logged = self.log.append(batch)
        return self._wait_for(_ends(logged), self.settings.serving.wait_timeout_s)

    # -- reads ----------------------------------------------------------------

    def recommend(
        self,
        user_id: str,
        k: int,
        *,
        exclude: Collection[str] = (),
        variant: str | None = None,
        **options: Any,
    ) -> Recommendation:
        """The top ``k`` (see :meth:`Recommender.recommend` for the options) from the
        user's experiment arm (``variant`` forces one); the list is logged as served,
        and the drift monitor, if any, counts its scores unless a fallback built it."""
        started = time.perf_counter()
        arm = self.experiments.arm(user_id, RECOMMENDATIONS, variant)
        with self.read_watch() as degraded:
            found = arm.run(lambda r: r.recommend(user_id, k, exclude=exclude, **options), k)
        fallback = degraded()
        if self._drift is not None and not fallback:
            self._drift.served([item.score for item in found.items])
        latency_ms = (time.perf_counter() - started) * 1000
        found = self._flagged(found, fallback)
        return self.experiments.served(found, arm, RECOMMENDATIONS, latency_ms)

    def explain(
        self,
        user_id: str,
        item_id: str,
        k: int,
        *,
        exclude: Collection[str] = (),
        variant: str | None = None,
        **options: Any,
    ) -> Explanation:
        """What happened to ``item_id`` in the user's top ``k`` with ``options`` (the
        options of :meth:`recommend`), as served by the user's experiment arm
        (``variant`` forces one; an interleaved arm is explained by its first team)."""
        request = Request(user_id, k, tuple(exclude), **options)
        arm = self.experiments.arm(user_id, RECOMMENDATIONS, variant)
        recommender = arm.teams[0][1] if arm.teams is not None else arm.recommender
        with self.read_watch():
            return explain(recommender, request, item_id)

    def similar(self, item_id: str, k: int, user_id: str | None = None) -> Recommendation:
        """Items most related to ``item_id`` (logged as served, to ``user_id`` if known)."""
        started = time.perf_counter()
        arm = self.experiments.arm(user_id, SIMILAR)
        with self.read_watch() as degraded:
            found = arm.run(lambda r: r.similar(item_id, k), k)
        found = dataclasses.replace(self._flagged(found, degraded()), user_id=user_id)
        latency_ms = (time.perf_counter() - started) * 1000
        return self.experiments.served(found, arm, SIMILAR, latency_ms)

    def ranked(self, ranking: Ranking, k: int, category: str | None = None) -> Recommendation:
        """The popular or trending list (optionally of one primary category)."""
        with self.read_watch() as degraded:
            found = self.recommender.ranked(ranking, k, category)
        return self._flagged(found, degraded())

    def replaying(self) -> bool:
        """Whether the state is still replaying the log tail it found at start."""
        return self.replay is not None and self.replay.running

    def await_replay(self) -> bool:
        """Block while the start-up replay runs, at most until ``serving.replay_wait_s``
        after the start; whether it is over. Call it off the event loop."""
        replay = self.replay
        if replay is None or not replay.running:
            return True
        budget = replay.wait_budget_s()
        if budget > 0:
            self._wait_for(replay.target, budget)
        return not replay.running

    def _flagged(self, found: Recommendation, fallback: bool) -> Recommendation:
        degraded = (REPLAYING,) if self.replaying() else ()
        if fallback or degraded:
            return dataclasses.replace(
                found, fallback=found.fallback or fallback, degraded=(*found.degraded, *degraded)
            )
        return found

    def item(self, item_id: str) -> tuple[CatalogItem | None, ItemStats | None]:
        """An item's catalog entry and live statistics (``None`` where unknown)."""
        (meta,) = self.state.get([item_id])
        (stats,) = self.state.item_stats([item_id])
        return meta, stats

    def profile(self, user_id: str) -> UserProfile | None:
        """The user's real-time profile, ``None`` for an unknown or expired user."""
        return self.state.profile(user_id)

    def catalog(self, item_ids: Sequence[str]) -> list[CatalogItem | None]:
        """Catalog entries of many items (``None`` where unknown)."""
        return self.state.get(item_ids)

    def catalog_page(self, offset: int, limit: int) -> list[CatalogItem]:
        """Catalog entries in the order first stored (none where the state cannot list
        its catalog, as a shared store cannot without a scan)."""
        if isinstance(self.state, Inventory):
            return self.state.catalog_page(offset, limit)
        return []

    def sizes(self) -> StateSizes | None:
        """Users, items and catalog entries held (``None`` where the state cannot
        count them)."""
        return self.state.sizes() if isinstance(self.state, Inventory) else None

    def published_models(self) -> list[dict[str, Any]]:
        """The manifests of the published model versions, newest first."""
        return self.models.published() if self.models is not None else []

    def experiment_report(self, experiment_id: str) -> dict[str, Any]:
        """The report of an experiment (see :mod:`streamrec.experiments.report`).

        Raises
        ------
        NotFound
            If there is no such experiment.
        """
        return live_report(
            self.experiments, self.attributor, self.state, self.applied_events(), experiment_id
        )

    @property
    def model_version(self) -> str | None:
        """The version of the batch models in use (``None`` before any is loaded)."""
        return self.models.version if self.models is not None else None

    @property
    def model_manifest(self) -> Mapping[str, Any] | None:
        """The manifest of the batch models in use (``None`` before any is loaded)."""
        bundle = self.models.bundle if self.models is not None else None
        return bundle.manifest if bundle is not None else None

    # -- operations -----------------------------------------------------------

    def applied_events(self) -> int:
        """How many log events the state has applied (its summed log positions)."""
        return sum(self.state.positions().values())

    def lag(self) -> int:
        """Events durable in the log but not yet applied (-1 while a backend is down)."""
        try:
            return sum(self.lag_by_partition().values())
        except BackendUnavailable:
            return -1

    def lag_by_partition(self) -> dict[int, int]:
        """Per log partition, the events durable but not yet applied.

        Raises
        ------
        BackendUnavailable
            If the log or the state cannot be read.
        """
        if self.log is None:
            return {}
        return partition_lag(self.log.end_positions(), self.state.positions())

    def status(self) -> EngineStatus:
        """Readiness (ready unless the processor's last step failed or the start-up
        replay still runs, with its progress), and drift."""
        error = self.progress.last_error if self.progress is not None else None
        retrain = self.retrain.status() if self.retrain is not None else None
        drift = self.telemetry.drift
        replay = self.replay.progress() if self.replay is not None else None
        return EngineStatus(
            error is None and replay is None,
            self.lag(),
            self.model_version,
            error,
            retrain,
            tuple(drift.drift()) if drift is not None else (),
            self.tuned.current(),
            replay,
            self.models.error if self.models is not None else None,
        )

    def on_close(self, release: Callable[[], None]) -> None:
        """Run ``release`` when the engine closes (the last registered runs first)."""
        self._closers.append(release)

    def close(self) -> None:
        """Release everything registered with :meth:`on_close`, newest first."""
        while self._closers:
            release = self._closers.pop()
            try:
                release()
            except Exception:  # one failing release must not leak the others
                log.exception("closing %s failed", getattr(release, "__qualname__", release))


def partition_lag(ends: Mapping[int, int], applied: Mapping[int, int]) -> dict[int, int]:
    """Per partition of the log, the events before ``ends`` not yet ``applied``."""
    return {p: max(0, end - applied.get(p, 0)) for p, end in ends.items()}


def _ends(batch: EventBatch) -> Positions:
    """Per partition, the offset after the batch's last event."""
    ends: Positions = {}
    for partition, offset in zip(batch.partition.tolist(), batch.offset.tolist(), strict=True):
        ends[partition] = max(ends.get(partition, 0), offset + 1)
    return ends
