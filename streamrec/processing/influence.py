"""Bounded influence: which interactions count for the aggregates everyone is served.

Popularity, trending and co-occurrence are shared: one user viewing an item thousands
of times, or a script firing events at machine speed, must not decide what every
other user sees. The fold asks :func:`counts_for_everyone` before each interaction,
on the user's recent-interactions ring as it is before the event (so the memory and
Redis states, which share the fold, decide alike). An interaction that does not
count still updates the user's own profile. The rules are in
:class:`~streamrec.config.InfluenceSettings`: a cap of ``pair_cap`` interactions per
(user, item) in ``pair_window_s``, and users whose last ``bot_events`` interactions
fall within ``bot_window_s`` treated as bots.

An event that counts also pairs with each *distinct* item of the user's window once,
so a user's repeated interactions with one item do not multiply its pairs.
"""

from __future__ import annotations

import numba
import numpy as np

from streamrec.config import InfluenceSettings


def limits_of(settings: InfluenceSettings) -> np.ndarray:
    """The rules as the compiled fold reads them: ``[pair_cap, pair_window_s,
    bot_events, bot_window_s]`` (whole seconds)."""
    return np.array(
        [
            settings.pair_cap,
            int(np.ceil(settings.pair_window_s)),
            settings.bot_events,
            int(np.ceil(settings.bot_window_s)),
        ],
        dtype=np.int64,
    )


@numba.njit(cache=True)
def counts_for_everyone(ring_item, ring_seconds, ring_pos, ring_len, u, item, now, limits):  # type: ignore[no-untyped-def]
    """Whether user ``u``'s interaction with ``item`` at second ``now`` counts for the
    shared aggregates, judged on the user's ring before the interaction joins it."""
    width = ring_item.shape[1]
    held = ring_len[u]
    if width == 0 or held == 0:
        return True
    bot_events = limits[2]
    if 0 < bot_events <= held:
        slot = (ring_pos[u] - bot_events) % width
        if now - np.int64(ring_seconds[u, slot]) < limits[3]:
            return False
    same = 0
    for back in range(held):
        slot = (ring_pos[u] - 1 - back) % width
        if ring_item[u, slot] == item and now - np.int64(ring_seconds[u, slot]) < limits[1]:
            same += 1
    return same < limits[0]
