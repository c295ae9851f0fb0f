"""Moving the decay landmark of a Redis state: rescale every stored decayed value.

Counters are stored forward-decayed against one landmark time (see
:mod:`streamrec.processing.decay`), so they grow as ``2**((t - L) / h)``. Float64
holds about a thousand half-lives and the float32 profile affinities about a
hundred, so the landmark has to move now and then (the memory state does it inside
a batch). Here it is a pass over every key of the state: O(items + co-occurrence
pairs + users) reads and writes, minutes for millions of users. Run it with the
processors stopped (they would add deltas computed against the old landmark), for
example once a month at the default half-lives; processors log a warning when it
is due.
"""

from __future__ import annotations

import logging
import re

import numpy as np

from streamrec.errors import ConfigError
from streamrec.state.base import ServingState
from streamrec.state.redis.keys import redis_errors
from streamrec.state.redis.state import RedisState

log = logging.getLogger(__name__)

#: Item hash fields and the decay that scales them (``d<type>`` fields: popularity).
_ITEM_FIELDS = {
    b"pop": "popularity",
    b"ts": "trend_short",
    b"tl": "trend_long",
    b"mass": "cooccurrence",
}


def _scaled_hash(stored: dict[bytes, bytes], factors: dict[str, float]) -> dict[bytes, str]:
    scaled = {}
    for field, raw in stored.items():
        decay = _ITEM_FIELDS.get(field)
        if decay is None and re.fullmatch(rb"d\d+", field):
            decay = "popularity"
        if decay is not None:
            scaled[field] = repr(float(raw) * factors[decay])
    return scaled


def rebase(state: RedisState, landmark_ms: int) -> int:
    """Move the landmark to ``landmark_ms``, rescaling every value; return keys touched.

    Raises
    ------
    BackendUnavailable
        If Redis fails. A rebase cut short leaves some keys rescaled and others
        not (the landmark moves last): rebuild the state by replaying the log into
        a fresh key prefix.
    """
    keys = state.keys
    with redis_errors("rebase"):
        old, _ = state.clock()
        if old is None or old == landmark_ms:
            return 0
        factors = {
            name: decay.rebase_factor(old, landmark_ms)
            for name, decay in state.decays.named().items()
        }
        sets = {
            keys.popular: "popularity",
            keys.short: "trend_short",
            keys.long: "trend_long",
            keys.mass: "cooccurrence",
        }
        prefix = re.escape(keys.pattern()[:-1]).encode()
        profile = re.compile(prefix + rb"\{u:.*", re.DOTALL)
        item = re.compile(prefix + rb"\{i:\d+\}")
        row = re.compile(prefix + rb"\{i:\d+\}:n")
        category = re.compile(re.escape(keys.popular).encode() + rb":\d+")
        rankings = {k.encode(): decay for k, decay in sets.items()}
        touched = 0
        for key in state.client.scan_iter(match=keys.pattern(), count=1000):
            name = key.decode()
            if profile.fullmatch(key):
                _scale_profile(state, name, factors["affinity"])
            elif key in rankings or category.fullmatch(key):
                _scale_sorted_set(state, name, factors[rankings.get(key, "popularity")])
            elif row.fullmatch(key):
                _scale_sorted_set(state, name, factors["cooccurrence"])
            elif item.fullmatch(key):
                scaled = _scaled_hash(state.client.hgetall(name), factors)  # type: ignore[arg-type]
                if scaled:
                    state.client.hset(name, mapping=scaled)  # type: ignore[arg-type]
            else:
                continue
            touched += 1
        state.client.hset(keys.meta, "landmark", str(landmark_ms))
    log.info("moved the decay landmark from %d to %d (%d keys)", old, landmark_ms, touched)
    return touched


def _scale_sorted_set(state: RedisState, key: str, factor: float) -> None:
    members: list[tuple[bytes, float]] = state.client.zrange(key, 0, -1, withscores=True)  # type: ignore[assignment]
    if members:
        state.client.zadd(key, {m: s * factor for m, s in members})


def _scale_profile(state: RedisState, key: str, factor: float) -> None:
    blob = state.client.get(key)
    if blob is None:
        return
    table = state.codec.decode([blob])  # type: ignore[list-item]
    table.affinity_weight *= np.float32(factor)
    state.client.set(key, state.codec.encode(table, 1)[0], keepttl=True)


def rebase_state(state: ServingState, landmark_ms: int | None = None) -> tuple[int, int]:
    """:func:`rebase` a state opened from a URL; ``None`` moves the landmark to the
    latest event. Returns (keys touched, the new landmark).

    Raises
    ------
    ConfigError
        If ``state`` is not a Redis state.
    """
    if not isinstance(state, RedisState):
        raise ConfigError("a landmark rebase applies to a Redis state (redis://…)")
    landmark = landmark_ms if landmark_ms is not None else state.clock()[1]
    return rebase(state, landmark), landmark
