"""Erasure in the Redis state: the Redis twin of :mod:`streamrec.processing.erase`.

An erased user's profile record is deleted. An erased item keeps its global id, but
its counters hash and neighbour row are deleted, it leaves every ranking (popular,
trending windows, co-occurrence mass, its category's popular set), and it is removed
from every other item's neighbour row (a ``SCAN`` over the rows: erasure is rare,
and a row may hold the item although the item's own row was pruned of it), and from
every stored profile (a second ``SCAN``). Every step is idempotent, so a redelivered
erasure changes nothing. Erasing an item costs a pass over all neighbour rows and
profiles, per partition.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from streamrec.erasures import Erasures
from streamrec.processing.profile_scrub import drop_items

if TYPE_CHECKING:
    from streamrec.state.redis.state import RedisState

#: Neighbour rows cleaned per pipeline.
_ROWS_PER_PIPELINE = 1000


def erase_subjects(state: RedisState, erasures: Erasures) -> None:
    """Apply one run of erasure records to ``state``."""
    keys = state.keys
    client = state.client
    if erasures.users:
        pipe = client.pipeline(transaction=False)
        for user in erasures.users:
            pipe.delete(keys.profile(user))
        pipe.execute()
    gids = [g for g in state.ids.lookup(erasures.items).tolist() if g >= 0]
    if not gids:
        return
    members = [str(g) for g in gids]
    codes = client.hmget(keys.item_category, gids)
    pipe = client.pipeline(transaction=False)
    for gid in gids:
        pipe.delete(keys.item(gid))
        pipe.delete(keys.neighbors(gid))
    pipe.execute()
    pipe = client.pipeline(transaction=False)
    for ranking in (keys.popular, keys.short, keys.long, keys.mass):
        pipe.zrem(ranking, *members)
    for member, code in zip(members, codes, strict=True):
        if code is not None and int(code) >= 0:
            pipe.zrem(keys.popular_in(int(code)), member)
    pipe.execute()
    _remove_from_rows(state, members)
    _scrub_profiles(state, np.asarray(gids, dtype=np.int64))


def _scrub_profiles(state: RedisState, gids: np.ndarray) -> None:
    """Drop the items from every stored profile, each rewrite a compare-and-set: a
    profile its owner rewrote meanwhile is left to the owner, whose own copy of the
    erasure (in its partition, after that write) scrubs it."""
    cas = state.client.register_script(_COMPARE_AND_SET)
    keys: list[bytes] = []
    for key in state.client.scan_iter(match=state.keys.profile_pattern(), count=_ROWS_PER_PIPELINE):
        keys.append(key)
        if len(keys) == _ROWS_PER_PIPELINE:
            _scrub_some(state, cas, keys, gids)
            keys = []
    _scrub_some(state, cas, keys, gids)


def _scrub_some(state: RedisState, cas: Any, keys: list[bytes], gids: np.ndarray) -> None:
    if not keys:
        return
    pipe = state.client.pipeline(transaction=False)
    for key in keys:
        pipe.get(key)
    blobs = pipe.execute()
    stored = [(k, b) for k, b in zip(keys, blobs, strict=True) if b is not None]
    if not stored:
        return
    table = state.codec.decode([b for _, b in stored])
    changed = drop_items(table, len(stored), gids)
    if not len(changed):
        return
    fresh = state.codec.encode(table, len(stored))
    pipes: dict[str, Any] = {}  # cluster pipelines refuse scripts: one per node
    for row in changed.tolist():
        key, old = stored[row]
        if state.target.cluster:
            node = state.client.get_node_from_key(key)  # type: ignore[union-attr]
            if node.name not in pipes:
                pipes[node.name] = node.redis_connection.pipeline(transaction=False)
            pipe = pipes[node.name]
        else:
            pipe = pipes.setdefault("", state.client.pipeline(transaction=False))
        cas(keys=[key], args=[old, fresh[row]], client=pipe)
    for pipe in pipes.values():
        pipe.execute()


#: Replaces a string only if it still holds ARGV[1] (keeping its time to live).
_COMPARE_AND_SET = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
  return 1
end
return 0
"""


def _remove_from_rows(state: RedisState, members: list[str]) -> None:
    pattern = state.keys.neighbors_pattern()
    rows = []
    for row in state.client.scan_iter(match=pattern, count=_ROWS_PER_PIPELINE):
        rows.append(row)
        if len(rows) == _ROWS_PER_PIPELINE:
            _zrem_all(state, rows, members)
            rows = []
    _zrem_all(state, rows, members)


def _zrem_all(state: RedisState, rows: list[bytes], members: list[str]) -> None:
    if not rows:
        return
    pipe = state.client.pipeline(transaction=False)
    for row in rows:
        pipe.zrem(row, *members)
    pipe.execute()
