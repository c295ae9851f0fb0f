"""The write side of the Redis state: fold one partition's events, write the deltas.

For each batch the touched users' profile records and the batch items' categories
are loaded in one pipelined round trip into a batch-local :class:`BatchView` (local
id maps holding only what the batch touches), the shared pure fold runs on it, and
the result becomes a *write plan*: profile records (``SET … EX ttl``), one Lua call
per item adding counter and co-occurrence deltas, one Lua call adding ranking
deltas, and finally the partition's next offset.

Exactly-once per partition: on a single server the whole plan and the new position
run in one MULTI/EXEC, so a redelivered batch finds its events already behind the
stored position. A Redis Cluster cannot run one transaction across slots, so the
plan is first journaled under ``{meta}``, then every delta script runs guarded by a
per-key mark ``m<partition> = <next offset>`` (a replay skips keys it already
reached), and the position moves and the journal is dropped in one script. A
processor that finds a journal replays it before anything else.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from streamrec.config import Settings
from streamrec.events import N_TYPES, EventBatch
from streamrec.ids import IdMap
from streamrec.processing.cooccurrence import CooccurrenceIndex
from streamrec.processing.decay import Decays
from streamrec.processing.fold import fold_batch
from streamrec.processing.items import ItemTable
from streamrec.processing.profiles import ProfileTable
from streamrec.state.redis.codec import (
    Command,
    ProfileCodec,
    globalize,
    localize,
    pack_plan,
    referenced_items,
    unpack_plan,
)
from streamrec.state.redis.keys import Client, Keys

if TYPE_CHECKING:
    from streamrec.state.memory import MemoryState

log = logging.getLogger(__name__)

#: A local co-occurrence index never prunes: rows are bounded in Redis.
_UNBOUNDED = 1 << 30

_FLOAT_FIELDS = (
    ("pop", "popularity"),
    ("ts", "trend_short"),
    ("tl", "trend_long"),
    ("mass", "cooccurrence_mass"),
    ("rs", "rating_sum"),
)


class FixedLandmark(Decays):
    """Decays whose landmark never moves inside a fold.

    Moving the landmark rescales every stored value, which in Redis is a pass over
    all keys (:func:`streamrec.state.redis.rebase.rebase`), not a batch step.
    """

    def needs_rebase(self, landmark_ms: int, latest_ms: int) -> bool:
        """Never inside a fold (float64 counters hold far beyond the threshold)."""
        return False


@dataclass(slots=True)
class BatchView:
    """A fold target holding only what one batch touches (or one read needs)."""

    settings: Settings
    decays: Decays
    users: IdMap
    items: IdMap
    categories: IdMap
    profiles: ProfileTable
    item_table: ItemTable
    cooccurrence: CooccurrenceIndex
    landmark_ms: int | None
    clock_ms: int


def as_memory_state(view: BatchView) -> MemoryState:
    """``view`` typed for the read helpers of :mod:`streamrec.state.views`.

    Those helpers only read the attributes a :class:`BatchView` has.
    """
    return cast("MemoryState", view)


@dataclass(frozen=True, slots=True)
class Loaded:
    """What a fold needs from Redis: global item ids, categories and profiles."""

    item_ids: np.ndarray  # global id of each distinct batch item, in item_names order
    item_names: list[str]
    categories: np.ndarray  # category code of each distinct batch item (-1 = none)
    user_names: list[str]
    profiles: list[bytes | None]


def fold_loaded(
    settings: Settings,
    decays: Decays,
    codec: ProfileCodec,
    loaded: Loaded,
    events: EventBatch,
    landmark_ms: int,
    clock_ms: int,
) -> tuple[BatchView, np.ndarray]:
    """Fold ``events`` into a view built from ``loaded``; return it and its item ids.

    The returned array maps the view's local item ids to global ones.
    """
    profiles = codec.decode(loaded.profiles)
    universe = np.unique(np.concatenate([referenced_items(profiles), loaded.item_ids]))
    localize(profiles, universe)
    names: list[str | None] = [None] * len(universe)
    local = np.searchsorted(universe, loaded.item_ids)
    for row, name in zip(local.tolist(), loaded.item_names, strict=True):
        names[row] = name
    table = ItemTable(max(len(universe), 1))
    table.category[local] = loaded.categories
    view = BatchView(
        settings=settings,
        decays=decays,
        users=IdMap(loaded.user_names),
        items=IdMap(names),
        categories=IdMap(),
        profiles=profiles,
        item_table=table,
        cooccurrence=CooccurrenceIndex(_UNBOUNDED, len(universe)),
        landmark_ms=landmark_ms,
        clock_ms=clock_ms,
    )
    fold_batch(view, events)
    return view, universe


#: Neighbour deltas as the item script reads them.
PAIR = np.dtype([("item", "<i4"), ("weight", "<f8")])


class PlanBuilder:
    """Turns a folded :class:`BatchView` into a write plan."""

    def __init__(self, keys: Keys, settings: Settings, codec: ProfileCodec) -> None:
        self.keys = keys
        self.settings = settings
        self.codec = codec

    def build(
        self, view: BatchView, universe: np.ndarray, loaded: Loaded, guard: tuple[str, int]
    ) -> list[Command]:
        """The writes that bring Redis to the view's state, guarded by ``guard``."""
        plan = self._profiles(view, universe, loaded)
        local_items = np.searchsorted(universe, loaded.item_ids)
        pairs = view.cooccurrence.to_arrays()
        sources = np.unique(np.concatenate([local_items, pairs["src"]]))
        order = np.argsort(pairs["src"], kind="stable")
        src = pairs["src"][order]
        packed = np.empty(len(src), PAIR)
        packed["item"] = universe[pairs["dst"][order]]
        packed["weight"] = pairs["weight"][order]
        blob = packed.tobytes()
        starts = np.searchsorted(src, sources, side="left")
        stops = np.searchsorted(src, sources, side="right")
        batch_items = set(local_items.tolist())
        cap = str(self.settings.cooccurrence.max_neighbors)
        guard_args = (guard[0], str(guard[1]))
        for row, start, stop in zip(sources.tolist(), starts.tolist(), stops.tolist(), strict=True):
            floats, ints = (
                self._item_fields(view.item_table, row) if row in batch_items else ([], [])
            )
            neighbors = blob[start * PAIR.itemsize : stop * PAIR.itemsize]
            gid = int(universe[row])
            plan.append(
                Command(
                    "item",
                    (self.keys.item(gid), self.keys.neighbors(gid)),
                    (
                        *guard_args,
                        cap,
                        str(len(floats) // 2),
                        str(len(ints) // 2),
                        *floats,
                        *ints,
                        neighbors,
                    ),
                )
            )
        plan.append(self._rankings(view.item_table, local_items, universe, guard_args))
        return plan

    def _profiles(self, view: BatchView, universe: np.ndarray, loaded: Loaded) -> list[Command]:
        rows = len(loaded.user_names)
        globalize(view.profiles, universe)
        ttl = str(int(self.settings.profile.ttl_s))
        return [
            Command("set", (self.keys.profile(user),), (blob, ttl))
            for user, blob in zip(
                loaded.user_names, self.codec.encode(view.profiles, rows), strict=True
            )
        ]

    @staticmethod
    def _item_fields(table: ItemTable, row: int) -> tuple[list[str], list[str]]:
        floats: list[str] = []
        for field, name in _FLOAT_FIELDS:
            value = float(getattr(table, name)[row])
            if value:
                floats += [field, repr(value)]
        for code in range(N_TYPES):
            value = float(table.type_decayed[code, row])
            if value:
                floats += [f"d{code}", repr(value)]
        ints: list[str] = []
        for code in range(N_TYPES):
            count = int(table.type_counts[code, row])
            if count:
                ints += [f"c{code}", str(count)]
        if table.rating_count[row]:
            ints += ["rc", str(int(table.rating_count[row]))]
        return floats, ints

    def _rankings(
        self,
        table: ItemTable,
        local_items: np.ndarray,
        universe: np.ndarray,
        guard_args: tuple[str, str],
    ) -> Command:
        keys = self.keys
        category_keys: dict[int, int] = {}
        args: list[str] = [*guard_args]
        for row in local_items.tolist():
            if not table.popularity[row] and not table.cooccurrence_mass[row]:
                continue
            code = int(table.category[row])
            slot = 0
            if code >= 0:
                slot = category_keys.setdefault(code, len(category_keys) + 1)
            args += [
                str(int(universe[row])),
                str(slot),
                repr(float(table.popularity[row])),
                repr(float(table.trend_short[row])),
                repr(float(table.trend_long[row])),
                repr(float(table.cooccurrence_mass[row])),
            ]
        rank_keys = (keys.rank_marks, keys.popular, keys.short, keys.long, keys.mass)
        return Command(
            "rank", rank_keys + tuple(keys.popular_in(c) for c in category_keys), tuple(args)
        )


#: Issues one command of a plan on a client or pipeline.
Run = Callable[[Command, Any], None]


class PlanWriter:
    """Executes write plans: one transaction on a server, journal + guards on a cluster."""

    def __init__(self, client: Client, keys: Keys, cluster: bool, run: Run) -> None:
        self.client = client
        self.keys = keys
        self.cluster = cluster
        self._run = run

    def guard(self, partition: int | None, end: int) -> tuple[str, int]:
        """The guard of a batch's delta scripts (none outside a cluster)."""
        if self.cluster and partition is not None:
            return (f"m{partition}", end)
        return ("", 0)

    def write(self, plan: list[Command], partition: int | None, end: int, clock_ms: int) -> None:
        """Apply ``plan`` and move ``partition`` to ``end`` (atomically per partition)."""
        finish = self._finish_command(partition, end, clock_ms)
        if not self.cluster:
            pipe = self.client.pipeline(transaction=True)
            for command in (*plan, finish):
                self._run(command, pipe)
            pipe.execute()
            return
        if partition is not None:
            self.client.set(self.keys.journal(partition), pack_plan([*plan, finish]))
        self._apply(plan)
        self._run(finish, self.client)

    def replay(self, journal: bytes) -> None:
        """Finish a journaled plan (guards skip what already happened)."""
        *plan, finish = unpack_plan(journal)
        log.warning("replaying a journaled batch of %d writes", len(plan))
        self._apply(plan)
        self._run(finish, self.client)

    def _apply(self, plan: list[Command]) -> None:
        """Run ``plan`` in one pipeline per cluster node (cluster pipelines refuse
        scripts)."""
        pipes: dict[str, Any] = {}
        for command in plan:
            node = self.client.get_node_from_key(command.keys[0])  # type: ignore[union-attr]
            if node.name not in pipes:
                pipes[node.name] = node.redis_connection.pipeline(transaction=False)
            self._run(command, pipes[node.name])
        for pipe in pipes.values():
            pipe.execute()

    def _finish_command(self, partition: int | None, end: int, clock_ms: int) -> Command:
        p = "" if partition is None else str(partition)
        journal = self.keys.journal(partition if partition is not None else -1)
        return Command(
            "finish", (self.keys.meta, self.keys.positions, journal), (p, str(end), str(clock_ms))
        )
