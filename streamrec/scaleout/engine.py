"""The API side of the scale-out topology: an engine over Kafka and Redis.

API replicas hold no state: events go to the Kafka topic (the workers fold them
into Redis), reads go to Redis through :class:`~streamrec.state.redis_fallback.
FallbackState`, and every answer built while Redis was unreachable says
``fallback: true``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Collection
from typing import Any

from streamrec.config import Settings
from streamrec.engine import Engine
from streamrec.errors import BackendUnavailable, ConfigError
from streamrec.events import EventBatch
from streamrec.log.kafka import KafkaEventLog
from streamrec.recommend.recommender import Recommender
from streamrec.recommend.types import Recommendation
from streamrec.state.base import Ranking
from streamrec.state.redis import RedisState
from streamrec.state.redis_fallback import FallbackState, degradation_watch

#: Redis socket timeout of API replicas: a stalled server must not stall requests.
READ_TIMEOUT_S = 0.5


def _flagged(build: Any) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> Recommendation:
        with degradation_watch() as degraded:
            found: Recommendation = build(*args, **kwargs)
        return dataclasses.replace(found, fallback=True) if degraded() else found

    return wrapper


class FlaggedRecommender(Recommender):
    """A recommender whose answers say ``fallback`` when a state read degraded."""

    def recommend(self, user_id: str, k: int, **options: Any) -> Recommendation:
        """See :meth:`Recommender.recommend`."""
        return _flagged(super().recommend)(user_id, k, **options)  # type: ignore[no-any-return]

    def similar(self, item_id: str, k: int) -> Recommendation:
        """See :meth:`Recommender.similar`."""
        return _flagged(super().similar)(item_id, k)  # type: ignore[no-any-return]

    def ranked(self, ranking: Ranking, k: int, category: str | None = None) -> Recommendation:
        """See :meth:`Recommender.ranked`."""
        return _flagged(super().ranked)(ranking, k, category)  # type: ignore[no-any-return]


class ScaleoutEngine(Engine):
    """An :class:`Engine` whose log is Kafka and whose state is Redis.

    Use :func:`build_scaleout_engine`.
    """

    def __init__(self, settings: Settings, state: RedisState, log: KafkaEventLog) -> None:
        self.redis = state
        self.kafka = log
        self.fallback = FallbackState(state)
        super().__init__(settings, self.fallback, log)  # type: ignore[arg-type]
        self.recommender = FlaggedRecommender(self.fallback, self.fallback, settings.recommend)

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

    def recommend(
        self, user_id: str, k: int, *, exclude: Collection[str] = (), **options: Any
    ) -> Recommendation:
        """The user's top ``k`` (``fallback`` set while Redis is unreachable)."""
        return self.recommender.recommend(user_id, k, exclude=exclude, **options)

    def lag(self) -> int:
        """Events in the log not yet applied (-1 while Kafka or Redis is unreachable)."""
        try:
            return super().lag()
        except BackendUnavailable:
            return -1

    def snapshot(self) -> None:
        """Nothing to do: Redis holds the state."""

    def close(self) -> None:
        """Release the log and the Redis connections."""
        self.kafka.close()
        self.redis.close()


def build_scaleout_engine(settings: Settings) -> Engine:
    """The engine of an API replica for ``settings.log.url`` and ``settings.state.url``.

    Raises
    ------
    ConfigError
        Unless the log is ``kafka://…`` and the state ``redis://…``.
    BackendUnavailable
        If Kafka or Redis cannot be reached at start.
    """
    if not settings.log.url.startswith("kafka://"):
        raise ConfigError(f"a scale-out API needs a kafka:// log, not {settings.log.url!r}")
    state = RedisState.connect(settings, timeout_s=READ_TIMEOUT_S)
    return ScaleoutEngine(settings, state, KafkaEventLog.connect(settings.log.url))
