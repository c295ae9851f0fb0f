"""The API side of the scale-out topology: an engine over Kafka and Redis.

API replicas hold no state: events go to the Kafka topic (the workers fold them
into Redis), reads go to Redis through :class:`~streamrec.state.redis.fallback.
FallbackState`, and every answer built while Redis was unreachable says
``fallback: true``.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from streamrec.adapters import models_directory
from streamrec.config import Settings
from streamrec.engine import Engine
from streamrec.errors import BackendUnavailable
from streamrec.events import EventBatch
from streamrec.log.kafka import KafkaEventLog
from streamrec.models.store import ModelStore
from streamrec.recommend.model_sources import ModelRegistry
from streamrec.recommend.recommender import Recommender
from streamrec.recommend.types import Recommendation
from streamrec.state.base import Ranking
from streamrec.state.redis import RedisState
from streamrec.state.redis.fallback import FallbackState, degradation_watch

#: Redis socket timeout of API replicas: a stalled server must not stall requests.
READ_TIMEOUT_S = 0.5


class FlaggedRecommender(Recommender):
    """A recommender whose answers built from a degraded state read say
    ``fallback: true``."""

    def recommend(self, user_id: str, k: int, **options: Any) -> Recommendation:
        """See :meth:`Recommender.recommend`."""
        with degradation_watch() as degraded:
            found = super().recommend(user_id, k, **options)
        return _flagged(found, degraded())

    def similar(self, item_id: str, k: int) -> Recommendation:
        """See :meth:`Recommender.similar`."""
        with degradation_watch() as degraded:
            found = super().similar(item_id, k)
        return _flagged(found, degraded())

    def ranked(self, ranking: Ranking, k: int, category: str | None = None) -> Recommendation:
        """See :meth:`Recommender.ranked`."""
        with degradation_watch() as degraded:
            found = super().ranked(ranking, k, category)
        return _flagged(found, degraded())


def _flagged(found: Recommendation, degraded: bool) -> Recommendation:
    return dataclasses.replace(found, fallback=True) if degraded else found


class ScaleoutEngine(Engine[FallbackState]):
    """An :class:`Engine` whose log is Kafka and whose state is Redis (read through
    :class:`FallbackState`).

    Use :func:`build_scaleout_engine`.
    """

    recommender_class = FlaggedRecommender

    def __init__(
        self,
        settings: Settings,
        state: RedisState,
        log: KafkaEventLog,
        models: ModelRegistry | None = None,
    ) -> None:
        self.redis = state
        self.kafka = log
        super().__init__(settings, FallbackState(state), log, models=models)

    def ingest(self, batch: EventBatch, wait: bool = False) -> EventBatch:
        """Append to Kafka; with ``wait``, return once the workers applied the events.

        Raises
        ------
        TimeoutError
            If the workers did not catch up within ``serving.wait_timeout_s``.
        """
        logged = self.kafka.append(batch)
        if wait:
            targets: dict[int, int] = {}
            for partition, offset in zip(
                logged.partition.tolist(), logged.offset.tolist(), strict=True
            ):
                targets[partition] = max(targets.get(partition, 0), offset + 1)
            if not self.wait_for(targets, self.settings.serving.wait_timeout_s):
                raise TimeoutError("events are durable but not yet applied to the online state")
        return logged

    def wait_for(self, targets: dict[int, int], timeout_s: float) -> bool:
        """Poll the state's positions until they reach ``targets``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            applied = self.redis.positions()
            if all(applied.get(p, 0) >= o for p, o in targets.items()):
                return True
            time.sleep(0.02)
        return False

    def lag(self) -> int:
        """Events in the log not yet applied (-1 while Kafka or Redis is unreachable)."""
        try:
            return super().lag()
        except BackendUnavailable:
            return -1

    def close(self) -> None:
        """Stop model watching, release the log and the Redis connections."""
        super().close()
        self.redis.close()


def build_scaleout_engine(settings: Settings) -> ScaleoutEngine:
    """The engine of an API replica for ``settings.log.url`` and ``settings.state.url``.

    ``streamrec serve`` builds it when the state URL is not ``memory`` (see
    :func:`streamrec.engine.engine_factory`, which checks the URLs first). Models
    come from the model store under ``settings.data_dir`` (shared storage when there
    are several replicas), watched for new versions as in the embedded engine.

    Raises
    ------
    ConfigError
        For a log URL that is not ``kafka://…`` or a state URL that is not
        ``redis://…``.
    BackendUnavailable
        If Kafka or Redis cannot be reached at start.
    """
    state = RedisState.connect(settings, timeout_s=READ_TIMEOUT_S)
    event_log = KafkaEventLog.connect(settings.log.url)
    models = ModelRegistry(ModelStore(models_directory(settings.data_dir)))
    models.start()
    return ScaleoutEngine(settings, state, event_log, models)
