"""The start-up replay: not ready and lists flagged until the state reaches the log end
found at start (a deterministic engine whose processor starts when the test says)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from streamrec.catchup import REPLAYING, StartupReplay
from streamrec.config import Settings
from streamrec.engine import Engine
from streamrec.events import EventBatch
from streamrec.log.embedded import EmbeddedEventLog
from streamrec.processing.runner import STATE_GROUP, StreamProcessor
from streamrec.state.base import Ranking
from streamrec.state.memory import MemoryState

EVENTS = 30_000


def filled_log(directory: Path, settings: Settings) -> EmbeddedEventLog:
    log = EmbeddedEventLog.open(directory, settings.log)
    for start in range(0, EVENTS, 3_000):
        n = np.arange(start, start + 3_000)
        log.append(
            EventBatch.from_columns(
                {
                    "user_id": [f"u{k % 500}" for k in n.tolist()],
                    "item_id": [f"i{(k * 7) % 300}" for k in n.tolist()],
                    "type": np.zeros(len(n), np.int8),
                    "value": np.full(len(n), np.nan),
                    "timestamp": 1_700_000_000_000 + n,
                }
            )
        )
    return log


def test_lists_are_flagged_and_readyz_shows_progress_until_the_replay_ends(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path, processor={"max_batch": 1_000})
    log = filled_log(tmp_path / "log", settings)
    state = MemoryState(settings)
    processor = StreamProcessor(log.consumer(STATE_GROUP), state, settings.processor)
    engine = Engine(settings, state, log=log, progress=processor)
    engine.replay = StartupReplay(log.end_positions(), state.positions, wait_s=0.0)
    try:
        status = engine.status()
        assert not status.ready
        assert status.replay is not None
        assert status.replay.as_dict() == {
            "applied": {},
            "target": {"0": EVENTS},
            "remaining": EVENTS,
        }
        assert not engine.await_replay()  # no budget to wait: served as is, flagged
        assert engine.recommend("u1", 5).degraded == (REPLAYING,)
        assert engine.ranked(Ranking.POPULAR, 5).degraded == (REPLAYING,)

        processor.step()  # one micro-batch in
        assert engine.status().replay.remaining == EVENTS - 1_000  # type: ignore[union-attr]

        processor.start()
        engine.replay = StartupReplay(log.end_positions(), state.positions, wait_s=60.0)
        assert engine.await_replay()
        assert engine.status().ready and engine.status().replay is None
        assert engine.recommend("u1", 5).degraded == ()
        assert sum(state.positions().values()) == EVENTS
        # past the replay, later lag is not a replay
        log.append(EventBatch.from_columns({**_one(), "timestamp": [1]}))
        assert engine.status().replay is None
    finally:
        processor.stop()
        log.close()


def _one() -> dict[str, object]:
    return {"user_id": ["u"], "item_id": ["i"], "type": [0], "value": [None]}
