"""Ranking reads of the Redis state: popular and trending items.

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
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from streamrec.events import N_TYPES
from streamrec.ids import IdMap
from streamrec.processing.items import ItemTable
from streamrec.state.base import Ranking, ScoredItems
from streamrec.state.memory import MemoryState
from streamrec.state.redis_apply import as_memory_state
from streamrec.state.views import top_k

if TYPE_CHECKING:
    from streamrec.state.redis import RedisState

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


class RankingReader:
    """Top-k reads of the popular and trending rankings."""

    def __init__(self, state: RedisState) -> None:
        self.state = state

    def top(self, ranking: Ranking, k: int, category: str | None) -> ScoredItems:
        """The ``k`` best available items by ``ranking`` (in ``category``)."""
        state = self.state
        code: int | None = None
        if category is not None:
            found = state.client.hget(state.keys.category_ids, category)
            if found is None:
                return ScoredItems([], np.empty(0))
            code = int(found)
        if k <= 0:
            return ScoredItems([], np.empty(0))
        if ranking is Ranking.POPULAR:
            ids, scores = self._popular(k, code)
        else:
            ids, scores = self._trending(k, code)
        return ScoredItems(state.ids.names(ids), scores)

    def _page(self, key: str, start: int, size: int) -> tuple[np.ndarray, np.ndarray]:
        got: list[tuple[bytes, float]] = self.state.client.zrevrangebyscore(  # type: ignore[assignment]
            key, "+inf", "(0", start=start, num=size, withscores=True
        )
        return np.array([int(m) for m, _ in got], np.int64), np.array([s for _, s in got])

    def _popular(self, k: int, code: int | None) -> tuple[np.ndarray, np.ndarray]:
        keys = self.state.keys
        key = keys.popular if code is None else keys.popular_in(code)
        size = max(2 * k, 64)
        ids: list[np.ndarray] = []
        scores: list[np.ndarray] = []
        found = 0
        start = 0
        while found < k:
            members, values = self._page(key, start, size)
            if not len(members):
                break
            off = np.asarray(
                self.state.client.smismember(keys.unavailable, members.tolist()), np.bool_
            )
            ids.append(members[~off])
            scores.append(values[~off])
            found += int((~off).sum())
            start += size
        if not ids:
            return np.empty(0, np.int64), np.empty(0)
        return np.concatenate(ids)[:k], np.concatenate(scores)[:k]

    def _trending(self, k: int, code: int | None) -> tuple[np.ndarray, np.ndarray]:
        state = self.state
        keys = state.keys
        landmark, clock = state.clock()
        short_decay = state.decays.trend_short
        long_decay = state.decays.trend_long
        prior = state.settings.recommend.trending_prior / long_decay.half_life_ms
        ratio = short_decay.half_life_ms / long_decay.half_life_ms
        size = max(4 * k, 1000)
        best_ids = np.empty(0, np.int64)
        best = np.empty(0)
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
            scores = MemoryState.ranking_scores(as_memory_state(view), Ranking.TRENDING)
            eligible = ~np.asarray(off, np.bool_)
            if code is not None:
                eligible &= np.array([c is not None and int(c) == code for c in categories])
            best_ids = np.concatenate([best_ids, members[eligible]])
            best = np.concatenate([best, scores[eligible]])
            keep = top_k(best, k)
            best_ids, best = best_ids[keep], best[keep]
            start += size
            rate = float(short_decay.value_at(shorts[-1], landmark or 0, clock))
            rate /= short_decay.half_life_ms
            if len(best) >= k and rate * (1 - ratio) / (ratio * rate + prior) <= best[-1]:
                break
        return best_ids, best

    def move_category(self, pipe: Any, item: int, previous: int, code: int) -> None:
        """Queue moving ``item``'s popularity from one category ranking to another."""
        keys = self.state.keys
        score = self.state.client.zscore(keys.popular, str(item))
        if previous >= 0:
            pipe.zrem(keys.popular_in(previous), str(item))
        if code >= 0 and score:
            pipe.zadd(keys.popular_in(code), {str(item): score})
