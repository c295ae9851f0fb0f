"""The embedded served-list log: durable, replayable, recovers a torn tail, bounded."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamrec.config import ExperimentSettings
from streamrec.errors import CorruptData
from streamrec.events import now_ms
from streamrec.experiments.served import ServedList
from streamrec.experiments.served_log import EmbeddedServedLog, MemoryServedLog


def _list(i: int, served_at: int | None = None) -> ServedList:
    return ServedList(
        recommendation_id=f"r{i}",
        user_id=f"u{i % 7}",
        surface="recommendations",
        experiment="e" if i % 2 else None,
        variant="a" if i % 2 else "default",
        items=tuple(f"item-{i}-{p}" for p in range(10)),
        scores=tuple(round(1.0 / (p + 1), 6) for p in range(10)),  # logged to 6 decimals
        propensities=(0.5,) * 10 if i % 3 == 0 else None,
        model_version="v1",
        settings_hash="abc",
        served_at=now_ms() if served_at is None else served_at,
        latency_ms=0.25,
        teams=("a", "b") * 5 if i % 5 == 0 else None,
    )


def test_a_record_round_trips() -> None:
    for i in range(6):
        served = _list(i)
        assert ServedList.decode(served.encode()) == served
    with pytest.raises(CorruptData):
        ServedList.decode(b'{"id": 1}')


def test_lists_survive_a_reopen_in_order(tmp_path: Path) -> None:
    settings = ExperimentSettings()
    log = EmbeddedServedLog(tmp_path, settings)
    written = [_list(i) for i in range(50)]
    for served in written:
        log.append(served)
    assert log.flush(5.0)
    assert [s for _, s in log.read(10)] == written[10:]
    log.close()
    reopened = EmbeddedServedLog(tmp_path, settings)
    assert reopened.end() == 50
    assert [(seq, s) for seq, s in reopened.read(0)] == list(enumerate(written))
    reopened.close()


def test_a_torn_tail_is_cut_and_appending_continues(tmp_path: Path) -> None:
    settings = ExperimentSettings()
    log = EmbeddedServedLog(tmp_path, settings)
    for i in range(5):
        log.append(_list(i))
    log.close()
    (segment,) = tmp_path.glob("*.jsonl")
    with segment.open("ab") as handle:
        handle.write(b'0badc0de {"id": "half')
    reopened = EmbeddedServedLog(tmp_path, settings)
    assert reopened.end() == 5
    reopened.append(_list(5))
    assert reopened.flush(5.0)
    assert [s.recommendation_id for _, s in reopened.read(0)] == [f"r{i}" for i in range(6)]
    reopened.close()


def test_retention_by_count_and_by_time(tmp_path: Path) -> None:
    settings = ExperimentSettings(served_max_lists=100)
    log = EmbeddedServedLog(tmp_path / "count", settings)
    for i in range(1000):
        log.append(_list(i))
    assert log.flush(5.0)
    kept = list(log.read(0))
    assert 90 <= len(kept) <= 100
    assert kept[-1][0] == 999 and log.begin() == kept[0][0]
    log.close()
    assert len(list((tmp_path / "count").glob("*.jsonl"))) <= 11

    old = now_ms() - 3_600_000
    timed = EmbeddedServedLog(
        tmp_path / "time", ExperimentSettings(served_retention_s=60.0, served_max_lists=100_000)
    )
    for i in range(25_000):  # 10,000 lists per segment: two sealed old segments
        timed.append(_list(i, served_at=old))
    timed.append(_list(25_000))
    assert timed.flush(10.0)
    assert timed.begin() == 20_000
    timed.close()


def test_the_memory_log_keeps_the_newest() -> None:
    log = MemoryServedLog(ExperimentSettings(served_max_lists=10))
    for i in range(25):
        log.append(_list(i))
    assert [seq for seq, _ in log.read(0)] == list(range(15, 25))
    assert [seq for seq, _ in log.read(20)] == list(range(20, 25))
