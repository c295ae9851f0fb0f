"""The scale-out online state on Redis or Redis Cluster.

Implements :class:`~streamrec.state.base.OnlineState`,
:class:`~streamrec.state.base.Catalog` and :class:`~streamrec.state.base.DenseReads`
(over the global item ids of :mod:`streamrec.state.redis.ids`) with the same pure
fold as the memory state
(:mod:`streamrec.state.redis.apply` for the write side, the key layout in
:mod:`streamrec.state.redis.keys`). Several processes may apply batches at once as
long as each partition has one owner (a Kafka consumer group guarantees it): user
profiles belong to one partition, and shared counters only receive increments.

Reads answer from a few pipelined round trips: a profile is one ``GET`` (plus the
names of the items it refers to, usually cached); neighbour rows of any number of
seed items are one pipeline, their normalizing masses and availability a second.
Item ids are interned once and never change, so the name <-> id maps are cached in
the process.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson

from streamrec.config import Settings
from streamrec.erasures import Erasures, runs
from streamrec.events import EventBatch
from streamrec.ids import IdMap
from streamrec.processing.cooccurrence import CooccurrenceIndex
from streamrec.processing.decay import Decays
from streamrec.processing.fold import unapplied
from streamrec.processing.items import ItemTable
from streamrec.state.base import (
    CatalogItem,
    ItemStats,
    Ranking,
    ScoredItems,
    UserArrays,
    UserProfile,
)
from streamrec.state.memory import MemoryState
from streamrec.state.redis.apply import (
    BatchView,
    FixedLandmark,
    Loaded,
    PlanBuilder,
    PlanWriter,
    as_memory_state,
    fold_loaded,
)
from streamrec.state.redis.catalog import CatalogCache
from streamrec.state.redis.codec import Command, ProfileCodec, localize, referenced_items
from streamrec.state.redis.erase import erase_subjects
from streamrec.state.redis.ids import ItemIds
from streamrec.state.redis.keys import (
    FINISH,
    INTERN,
    ITEM_APPLY,
    RANK_APPLY,
    Client,
    Keys,
    RedisTarget,
    redis_errors,
)
from streamrec.state.redis.reads import RankingReader, item_table_of, neighbor_rows
from streamrec.state.views import item_stats_of, profile_of, user_arrays_of

log = logging.getLogger(__name__)


class RedisState:
    """Online state and catalog in Redis (one server or a cluster).

    Use :meth:`connect`. Thread-safe: the underlying client pools connections.
    """

    def __init__(self, settings: Settings, client: Client, target: RedisTarget) -> None:
        self.settings = settings
        self.client = client
        self.target = target
        self.keys = Keys(target.prefix)
        self.decays = Decays.from_settings(settings.decay)
        self._fold_decays = FixedLandmark(**self.decays.named())
        self.codec = ProfileCodec(settings.profile)
        self._scripts = {
            "intern": client.register_script(INTERN),
            "item": client.register_script(ITEM_APPLY),
            "rank": client.register_script(RANK_APPLY),
            "finish": client.register_script(FINISH),
        }
        self._builder = PlanBuilder(self.keys, settings, self.codec)
        self._writer = PlanWriter(client, self.keys, target.cluster, self._run)
        self._rankings = RankingReader(self)
        self.ids = ItemIds(client, self.keys, self._scripts["intern"])
        self._catalog = CatalogCache(client, self.keys)
        self._rebase_warned = False

    @classmethod
    def connect(
        cls, settings: Settings, url: str | None = None, timeout_s: float = 5.0
    ) -> RedisState:
        """Connect to ``url`` (default ``settings.state.url``) and check it answers.

        Raises
        ------
        ConfigError
            For a malformed URL.
        BackendUnavailable
            If Redis does not answer.
        """
        target = RedisTarget.parse(url or settings.state.url)
        client = target.connect(timeout_s)
        with redis_errors("connect"):
            client.ping()
        return cls(settings, client, target)

    def close(self) -> None:
        """Release the connections."""
        self.client.close()

    def _run(self, command: Command, target: Any) -> None:
        if command.name == "set":
            blob, ttl = command.args
            target.set(command.keys[0], blob, ex=int(ttl))
        else:
            self._scripts[command.name](
                keys=list(command.keys), args=list(command.args), client=target
            )

    # -- writes ----------------------------------------------------------------

    def apply(self, batch: EventBatch) -> None:
        """Fold a batch in; per partition, events before :meth:`positions` are skipped.

        Raises
        ------
        BackendUnavailable
            If Redis fails; nothing of the failed partition's batch is visible then
            (or, on a cluster, its journal finishes it on the next apply).
        """
        if not len(batch):
            return
        with redis_errors("apply"):
            logged = batch.offset >= 0
            if not logged.all():
                self._apply_group(batch.take(np.flatnonzero(~logged)), None)
            for partition in np.unique(batch.partition[logged]).tolist():
                rows = np.flatnonzero(logged & (batch.partition == partition))
                self._apply_group(batch.take(rows), int(partition))

    def _group_state(self, partition: int | None) -> tuple[int | None, int, int]:
        """Landmark, clock and position of a partition, finishing any journaled batch."""
        keys = self.keys
        while True:
            pipe = self.client.pipeline(transaction=False)
            pipe.hmget(keys.meta, ["landmark", "clock"])
            if partition is not None:
                pipe.hget(keys.positions, str(partition))
                pipe.get(keys.journal(partition))
            found: list[Any] = pipe.execute()
            landmark, clock = found[0]
            position, journal = found[1:] if partition is not None else (None, None)
            if journal is None:
                break
            self._writer.replay(journal)
        return (
            None if landmark is None else int(landmark),
            int(clock or 0),
            int(position or 0),
        )

    def _apply_group(self, events: EventBatch, partition: int | None) -> None:
        landmark, clock, start = self._group_state(partition)
        end = int(events.offset.max()) + 1 if partition is not None else 0
        fresh = events if partition is None else unapplied(events, {partition: start})
        if not len(fresh):
            if end > start:
                self._writer.write([], partition, end, clock)
            return
        parts = list(runs(fresh))
        for i, run in enumerate(parts):
            last = i == len(parts) - 1
            if isinstance(run, Erasures):  # idempotent: a redelivery erases again
                erase_subjects(self, run)
                if last:
                    self._writer.write([], partition, end, clock)
                continue
            run_end = end if last or partition is None else int(run.offset.max()) + 1
            self._fold_run(run, partition, run_end, landmark, clock)
            if not last:
                landmark, clock, _ = self._group_state(partition)

    def _fold_run(
        self, fresh: EventBatch, partition: int | None, end: int, landmark: int | None, clock: int
    ) -> None:
        latest = int(fresh.timestamp.max())
        if landmark is None:
            self.client.hsetnx(self.keys.meta, "landmark", str(latest))
            landmark = int(self.client.hget(self.keys.meta, "landmark"))  # type: ignore[arg-type]
        if not self._rebase_warned and self.decays.needs_rebase(landmark, latest):
            self._rebase_warned = True
            log.warning(
                "the decay landmark is far behind the events: stop the processors and run "
                "`streamrec rebase --state …`"
            )
        loaded = self._load(fresh)
        view, universe = fold_loaded(
            self.settings, self._fold_decays, self.codec, loaded, fresh, landmark, clock
        )
        plan = self._builder.build(view, universe, loaded, self._writer.guard(partition, end))
        self._writer.write(plan, partition, end, view.clock_ms)

    def _load(self, events: EventBatch) -> Loaded:
        item_names = list(dict.fromkeys(events.item_id))
        user_names = list(dict.fromkeys(events.user_id))
        item_ids = self.ids.intern(item_names)
        pipe = self.client.pipeline(transaction=False)
        pipe.hmget(self.keys.item_category, item_ids.tolist())
        for user in user_names:
            pipe.get(self.keys.profile(user))
        codes, *profiles = pipe.execute()
        return Loaded(
            item_ids=item_ids,
            item_names=item_names,
            categories=np.array([-1 if c is None else int(c) for c in codes], dtype=np.int32),
            user_names=user_names,
            profiles=profiles,
        )

    def positions(self) -> dict[int, int]:
        """Per partition, the offset after the last applied event."""
        with redis_errors("positions read"):
            stored = self.client.hgetall(self.keys.positions)
        return {int(p): int(o) for p, o in stored.items()}

    def clock(self) -> tuple[int | None, int]:
        """The decay landmark (``None`` before any event) and the latest event time."""
        landmark, clock = self.client.hmget(self.keys.meta, ["landmark", "clock"])
        return (None if landmark is None else int(landmark)), int(clock or 0)

    # -- catalog ---------------------------------------------------------------

    def upsert(self, items: Sequence[CatalogItem]) -> None:
        """Insert or replace catalog items.

        An item whose primary category changes moves its popularity to the new
        category's ranking (not atomically with concurrent increments).
        """
        if not items:
            return
        with redis_errors("catalog write"):
            ids = self.ids.intern([i.item_id for i in items]).tolist()
            primaries = [i.categories[0] if i.categories else None for i in items]
            named = sorted({c for c in primaries if c is not None})
            codes = dict(zip(named, self.ids.intern_categories(named), strict=True))
            keys = self.keys
            before = self.client.hmget(keys.item_category, ids)
            pipe = self.client.pipeline(transaction=False)
            for gid, item, primary, old in zip(ids, items, primaries, before, strict=True):
                pipe.hset(keys.catalog, str(gid), orjson.dumps(dataclasses.asdict(item)))
                code = -1 if primary is None else codes[primary]
                pipe.hset(keys.item_category, str(gid), str(code))
                if item.available:
                    pipe.srem(keys.unavailable, str(gid))
                else:
                    pipe.sadd(keys.unavailable, str(gid))
                if item.created_at is None:
                    pipe.zrem(keys.created, str(gid))
                else:
                    pipe.zadd(keys.created, {str(gid): item.created_at})
                previous = -1 if old is None else int(old)
                if previous != code:
                    self._rankings.move_category(pipe, gid, previous, code)
            pipe.execute()
        self._catalog.forget(np.asarray(ids, dtype=np.int64))

    def remove(self, item_ids: Sequence[str]) -> None:
        """Delete catalog entries (their popularity leaves the category rankings)."""
        if not item_ids:
            return
        with redis_errors("catalog write"):
            ids = self.ids.lookup(item_ids)
            ids = ids[ids >= 0].tolist()
            if not ids:
                return
            keys = self.keys
            before = self.client.hmget(keys.item_category, ids)
            pipe = self.client.pipeline(transaction=False)
            for gid, old in zip(ids, before, strict=True):
                pipe.hdel(keys.catalog, str(gid))
                pipe.hdel(keys.item_category, str(gid))
                pipe.srem(keys.unavailable, str(gid))
                if old is not None and int(old) >= 0:
                    self._rankings.move_category(pipe, gid, int(old), -1)
            pipe.execute()
        self._catalog.forget(np.asarray(ids, dtype=np.int64))

    def get(self, item_ids: Sequence[str]) -> list[CatalogItem | None]:
        """Catalog entries (``None`` where unknown), reused for
        :data:`~streamrec.state.redis.catalog.CATALOG_TTL_S` (see
        :mod:`streamrec.state.redis.catalog`)."""
        with redis_errors("catalog read"):
            return self._catalog.entries(self.ids.lookup(item_ids))

    def available(self, item_ids: Sequence[str]) -> np.ndarray:
        """May each item be recommended? Items the catalog does not know may."""
        with redis_errors("catalog read"):
            return self.available_rows(self.ids.lookup(item_ids))

    def available_rows(self, ids: np.ndarray) -> np.ndarray:
        """:meth:`available` over global ids."""
        if not len(ids):
            return np.ones(0, dtype=np.bool_)
        with redis_errors("catalog read"):
            off = self.client.smismember(self.keys.unavailable, ids.tolist())
        return ~np.asarray(off, dtype=np.bool_)

    def in_category(self, ids: np.ndarray, category: str) -> np.ndarray:
        """Whether each item's catalog entry lists ``category``."""
        with redis_errors("catalog read"):
            return self._catalog.in_category(ids, category)

    def catalog_rows(self, ids: np.ndarray) -> list[CatalogItem | None]:
        """:meth:`get` over global ids."""
        with redis_errors("catalog read"):
            return self._catalog.entries(np.asarray(ids, np.int64))

    def stats_rows(self, ids: np.ndarray) -> list[ItemStats | None]:
        """:meth:`item_stats` over global ids."""
        return self.item_stats(self.item_names(ids))

    def newest_rows(self, since_ms: int, k: int) -> np.ndarray:
        """The ``k`` newest available items created at or after ``since_ms``."""
        with redis_errors("catalog read"):
            found: list[tuple[bytes, float]] = self.client.zrevrangebyscore(  # type: ignore[assignment]
                self.keys.created, "+inf", since_ms, withscores=True
            )
        if not found:
            return np.empty(0, np.int64)
        ids = np.array([int(m) for m, _ in found], np.int64)
        created = np.array([s for _, s in found])
        keep = self.available_rows(ids)
        ids, created = ids[keep], created[keep]
        return ids[np.lexsort((ids, -created))][:k]

    # -- names -----------------------------------------------------------------

    def item_ids(self, names: Sequence[str]) -> np.ndarray:
        """Global ids of ``names`` (``-1`` where never seen)."""
        with redis_errors("id read"):
            return self.ids.lookup(names)

    def item_names(self, ids: np.ndarray) -> list[str]:
        """Names of global ids (cached in the process once read)."""
        with redis_errors("id read"):
            return self.ids.names(ids)

    # -- reads -----------------------------------------------------------------

    def view(
        self, items: IdMap, item_table: ItemTable, landmark: int | None, clock: int
    ) -> BatchView:
        """A read-only view for the helpers of :mod:`streamrec.state.views`."""
        return BatchView(
            settings=self.settings,
            decays=self.decays,
            users=IdMap(),
            items=items,
            categories=self.ids.categories(item_table.category[item_table.category >= 0].tolist()),
            profiles=self.codec.decode([]),
            item_table=item_table,
            cooccurrence=CooccurrenceIndex(1),
            landmark_ms=landmark,
            clock_ms=clock,
        )

    def profile(self, user_id: str) -> UserProfile | None:
        """The user's profile, or ``None`` for an unknown or expired user."""
        with redis_errors("profile read"):
            pipe = self.client.pipeline(transaction=False)
            pipe.get(self.keys.profile(user_id))
            pipe.hmget(self.keys.meta, ["landmark", "clock"])
            blob, (landmark, clock) = pipe.execute()
            if blob is None:
                return None
            table = self.codec.decode([blob])
            universe = np.unique(referenced_items(table))
            localize(table, universe)
            names = self.ids.names(universe)
            codes = [*table.affinity_category[0].tolist(), int(table.session_category[0])]
            view = self.view(IdMap(names), ItemTable(1), _int(landmark), int(clock or 0))
            view.categories = self.ids.categories(codes)
            view.profiles = table
            return profile_of(as_memory_state(view), user_id, 0)

    def user_arrays(self, user_id: str) -> UserArrays | None:
        """The user's profile over global ids, or ``None`` (one ``GET``)."""
        with redis_errors("profile read"):
            blob = self.client.get(self.keys.profile(user_id))
            if blob is None:
                return None
            table = self.codec.decode([blob])  # type: ignore[list-item]
            code = int(table.session_category[0])
            categories = self.ids.categories([code] if code >= 0 else [])
            return user_arrays_of(table, 0, categories.name)

    def neighbors(self, item_ids: Sequence[str], k: int) -> list[ScoredItems]:
        """Each item's ``k`` strongest co-occurring available items, in the order of
        :mod:`streamrec.processing.order`."""
        rows = self.neighbor_rows(self.item_ids(item_ids), k)
        return [ScoredItems(self.ids.names(ids), scores) for ids, scores in rows]

    def neighbor_rows(self, items: np.ndarray, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """:meth:`neighbors` over global ids (empty for ``-1``)."""
        if not len(items):
            return []
        with redis_errors("neighbour read"):
            return neighbor_rows(self, items, k)

    def top_items(self, ranking: Ranking, k: int, category: str | None = None) -> ScoredItems:
        """The ``k`` best available items by ``ranking``, optionally in one category."""
        ids, scores = self.top_rows(ranking, k, category)
        with redis_errors("ranking read"):
            return ScoredItems(self.ids.names(ids), scores)

    def top_rows(
        self, ranking: Ranking, k: int, category: str | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`top_items` over global ids."""
        with redis_errors("ranking read"):
            return self._rankings.top(ranking, k, category)

    def item_stats(self, item_ids: Sequence[str]) -> list[ItemStats | None]:
        """Statistics of each item (``None`` where never seen)."""
        if not item_ids:
            return []
        with redis_errors("item read"):
            ids = self.ids.lookup(item_ids)
            pipe = self.client.pipeline(transaction=False)
            for gid in ids.tolist():
                pipe.hgetall(self.keys.item(gid))
            pipe.hmget(self.keys.meta, ["landmark", "clock"])
            *hashes, (landmark, clock) = pipe.execute()
            table = item_table_of(hashes)
            view = self.view(IdMap(list(item_ids)), table, _int(landmark), int(clock or 0))
            trending = MemoryState.ranking_scores(as_memory_state(view), Ranking.TRENDING)
            return [
                item_stats_of(as_memory_state(view), name, trending) if gid >= 0 else None
                for name, gid in zip(item_ids, ids.tolist(), strict=True)
            ]


def _int(value: bytes | None) -> int | None:
    return None if value is None else int(value)
