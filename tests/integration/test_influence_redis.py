"""The Redis state bounds influence as the memory state does (they share the fold)."""

from __future__ import annotations

import numpy as np
import pytest

from streamrec.config import Settings
from streamrec.events import Event, EventBatch
from streamrec.state.memory import MemoryState
from streamrec.state.redis import RedisState
from tests.integration.test_redis_state import (
    all_items,
    all_users,
    assert_same_state,
    by_partition,
    event_stream,
    partitioned,
    state_url,  # noqa: F401  (the parametrized fixture)
)

pytestmark = pytest.mark.integration

STRICT = Settings(
    influence={"pair_cap": 2, "pair_window_s": 1800, "bot_events": 8, "bot_window_s": 30}
)


def test_capped_and_bot_events_are_left_out_alike(state_url: str) -> None:  # noqa: F811
    stream = event_stream(3_000)
    ends: dict[int, int] = {}
    for b in stream:  # where each partition of the stream ends
        for p in np.unique(b.partition).tolist():
            ends[p] = max(ends.get(p, 0), int(b.offset[b.partition == p].max()) + 1)
    start = int(max(b.timestamp.max() for b in stream))
    spam = [
        Event(user_id="spam", item_id="i3", type="purchase", timestamp=start + k * 500)
        for k in range(400)
    ]
    stream.append(partitioned(EventBatch.from_events(spam), ends))
    state = RedisState.connect(STRICT, state_url)
    memory = MemoryState(STRICT)
    try:
        for batch in stream:
            state.apply(batch)
            for write in by_partition(batch):
                memory.apply(write)
        assert_same_state(state, memory, all_users(stream), all_items(stream))
        stats = memory.item_stats(["i3"])[0]
        assert stats is not None and stats.counts["purchase"] >= 400
        assert state.profile("spam") is not None
    finally:
        state.close()
