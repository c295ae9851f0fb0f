"""Neighbour and ranking reads of the Redis state.

Neighbour rows of any number of seed items are one pipeline (each row's
``max_neighbors + 1`` heaviest entries, and the seeds' co-occurrence masses), their
neighbours' masses and availability a second; each row is then cut to
``max_neighbors`` as :meth:`CooccurrenceIndex.neighbors
<streamrec.processing.cooccurrence.CooccurrenceIndex.neighbors>` cuts it, normalized
and cut to ``k`` in NumPy.

Popularity is one sorted set per scope (all items, and one per primary category), so
a top-k is a reverse range plus an availability check. Trending compares a short
and a long decayed rate, an order no single stored value keeps; it is computed
exactly by walking the short-window set from the top, page by page, and stopping
once no later item can beat the current k-th score.

The bound: an item's decayed short-window total ``S`` never exceeds its long-window
total ``L`` (every event decays slower in the long window), so with rates
``s = S / h_s``, ``l = L / h_l`` and ``r = h_s / h_l`` we have ``l >= r s`` and the
trending score ``(s - l) / (l + p)`` is at most ``s (1 - r) / (r s + p)``, which
grows with ``s``: the first short rate of the next page bounds every later item.

Both rankings are cut in the order of :mod:`streamrec.processing.order` (score, then
item id), so a walk goes on while a later item could still tie the ``k``-th.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from streamrec.events import N_TYPES
from streamrec.ids import IdMap
from streamrec.processing.cooccurrence import neighbor_scores, strongest
from streamrec.processing.items import ItemTable
from streamrec.processing.order import best_first, settled
from streamrec.state.base import Ranking
from streamrec.state.memory import MemoryState
from streamrec.state.redis.apply import as_memory_state

if TYPE_CHECKING:
    from streamrec.state.redis.state import RedisState

_FLOATS = {b"pop": "popularity", b"ts": "trend_short", b"tl": "trend_long"}
_FLOATS |= {b"mass": "cooccurrence_mass", b"rs": "rating_sum"}


def item_table_of(hashes: list[dict[bytes, bytes]]) -> ItemTable:
    """An item table with one row per stored item hash (empty hashes give zeros)."""
    table = ItemTable(max(len(hashes), 1))
    for row, stored in enumerate(hashes):
        for field, raw in stored.items():
            if field in _FLOATS:
                getattr(table, _FLOATS[field])[row] = float(raw)
            elif field == b"rc":
                table.rating_count[row] = int(raw)
            elif field[:1] == b"d" and int(field[1:]) < N_TYPES:
                table.type_decayed[int(field[1:]), row] = float(raw)
            elif field[:1] == b"c" and int(field[1:]) < N_TYPES:
                table.type_counts[int(field[1:]), row] = int(raw)
    return table


def _members(row: list[tuple[bytes, float]]) -> tuple[np.ndarray, np.ndarray]:
    """A scored range reply as (ids, scores)."""
    if not row:
        return np.empty(0, np.int64), np.empty(0)
    members, scores = zip(*row, strict=True)
    return np.array(members).astype(np.int64), np.array(scores, dtype=np.float64)


def _namer(state: RedisState, ids: np.ndarray) -> Callable[[np.ndarray], list[str]]:
    """The names of ``ids`` at given positions."""
    return lambda rows: state.ids.names(ids[rows])


def neighbor_rows(
    state: RedisState, items: np.ndarray, k: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each item's ``k`` strongest co-occurring available items (ids and scores, in the
    order of :mod:`streamrec.processing.order`; empty for ``-1``)."""
    client, keys = state.client, state.keys
    known = [gid for gid in np.asarray(items).tolist() if gid >= 0]
    cap = state.settings.cooccurrence.max_neighbors
    pipe = client.pipeline(transaction=False)
    for gid in known:
        pipe.zrange(keys.neighbors(gid), 0, cap, desc=True, withscores=True)
    pipe.zmscore(keys.mass, known or ["-"])
    *replies, seed_mass = pipe.execute()
    rows = [strongest(*_members(reply), cap) for reply in replies]
    every = np.unique(np.concatenate([ids for ids, _ in rows] or [np.empty(0, np.int64)]))
    mass, available = np.empty(0), np.empty(0, np.bool_)
    if len(every):
        pipe = client.pipeline(transaction=False)
        pipe.zmscore(keys.mass, every.tolist())
        pipe.smismember(keys.unavailable, every.tolist())
        found_mass, off = pipe.execute()
        mass = np.array([m or 0.0 for m in found_mass])
        available = ~np.asarray(off, dtype=np.bool_)
    damping = state.settings.cooccurrence.popularity_damping
    result: list[tuple[np.ndarray, np.ndarray]] = []
    at = 0
    for gid in np.asarray(items).tolist():
        if gid < 0:
            result.append((np.empty(0, np.int64), np.empty(0)))
            continue
        members, weights = rows[at]
        own = seed_mass[at] or 0.0
        at += 1
        where = np.searchsorted(every, members)
        keep = available[where]
        members, weights, where = members[keep], weights[keep], where[keep]
        scores = neighbor_scores(weights, own, mass[where], damping)
        order = best_first(scores, k, _namer(state, members))
        result.append((members[order], scores[order]))
    return result


class RankingReader:
    """Top-k reads of the popular and trending rankings."""

    def __init__(self, state: RedisState) -> None:
        self.state = state

    def top(self, ranking: Ranking, k: int, category: str | None) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best available items by ``ranking`` (in ``category``): global ids
        and scores."""
        state = self.state
        code: int | None = None
        if category is not None:
            found = state.client.hget(state.keys.category_ids, category)
            if found is None:
                return np.empty(0, np.int64), np.empty(0)
            code = int(found)
        if k <= 0:
            return np.empty(0, np.int64), np.empty(0)
        if ranking is Ranking.POPULAR:
            return self._popular(k, code)
        return self._trending(k, code)

    def _page(self, key: str, start: int, size: int) -> tuple[np.ndarray, np.ndarray]:
        got: list[tuple[bytes, float]] = self.state.client.zrevrangebyscore(  # type: ignore[assignment]
            key, "+inf", "(0", start=start, num=size, withscores=True
        )
        return _members(got)

    def _popular(self, k: int, code: int | None) -> tuple[np.ndarray, np.ndarray]:
        """Reverse-range pages of available items until the ``k``-th is settled (no
        later item can tie it), then the order of :mod:`streamrec.processing.order`."""
        keys = self.state.keys
        key = keys.popular if code is None else keys.popular_in(code)
        size = max(2 * k, 64)
        ids = np.empty(0, np.int64)
        scores = np.empty(0)
        start = 0
        while True:
            members, values = self._page(key, start, size)
            if not len(members):
                break
            off = np.asarray(
                self.state.client.smismember(keys.unavailable, members.tolist()), np.bool_
            )
            ids = np.concatenate([ids, members[~off]])
            scores = np.concatenate([scores, values[~off]])
            start += size
            if settled(scores, k, float(values[-1])):
                break
        return self._first(ids, scores, k)

    def _trending(self, k: int, code: int | None) -> tuple[np.ndarray, np.ndarray]:
        state = self.state
        keys = state.keys
        landmark, clock = state.clock()
        short_decay = state.decays.trend_short
        long_decay = state.decays.trend_long
        prior = state.settings.recommend.trending_prior / long_decay.half_life_ms
        ratio = short_decay.half_life_ms / long_decay.half_life_ms
        size = max(4 * k, 1000)
        ids = np.empty(0, np.int64)
        scores = np.empty(0)
        start = 0
        while True:
            members, shorts = self._page(keys.short, start, size)
            if not len(members):
                break
            pipe = state.client.pipeline(transaction=False)
            pipe.zmscore(keys.long, members.tolist())
            pipe.smismember(keys.unavailable, members.tolist())
            pipe.hmget(keys.item_category, members.tolist())
            longs, off, categories = pipe.execute()
            table = ItemTable(len(members))
            table.trend_short[:] = shorts
            table.trend_long[:] = [v or 0.0 for v in longs]
            view = state.view(IdMap([str(m) for m in members.tolist()]), table, landmark, clock)
            found = MemoryState.ranking_scores(as_memory_state(view), Ranking.TRENDING)
            eligible = ~np.asarray(off, np.bool_)
            if code is not None:
                eligible &= np.array([c is not None and int(c) == code for c in categories])
            ids = np.concatenate([ids, members[eligible]])
            scores = np.concatenate([scores, found[eligible]])
            start += size
            rate = float(short_decay.value_at(shorts[-1], landmark or 0, clock))
            rate /= short_decay.half_life_ms
            if settled(scores, k, rate * (1 - ratio) / (ratio * rate + prior)):
                break
        return self._first(ids, scores, k)

    def _first(self, ids: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The first ``k`` of the read items in the order (score, then item id)."""
        order = best_first(scores, k, lambda rows: self.state.ids.names(ids[rows]))
        return ids[order], scores[order]

    def move_category(self, pipe: Any, item: int, previous: int, code: int) -> None:
        """Queue moving ``item``'s popularity from one category ranking to another."""
        keys = self.state.keys
        score = self.state.client.zscore(keys.popular, str(item))
        if previous >= 0:
            pipe.zrem(keys.popular_in(previous), str(item))
        if code >= 0 and score:
            pipe.zadd(keys.popular_in(code), {str(item): score})
