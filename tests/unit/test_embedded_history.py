"""The embedded History: the event log's files read in time order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from streamrec.config import LogSettings
from streamrec.errors import CorruptData, InvalidInput
from streamrec.events import Event, EventBatch
from streamrec.history.base import History
from streamrec.history.embedded import EmbeddedHistory
from streamrec.log.embedded import EmbeddedEventLog
from streamrec.log.embedded.frames import HEADER_SIZE
from streamrec.log.embedded.segments import list_segments
from tests.unit.test_embedded_log import make_batch

FAST = LogSettings(fsync=False, group_commit_ms=0)


def stamped(timestamps: list[int], tag: str) -> EventBatch:
    return EventBatch.from_events(
        [
            Event(user_id="u", item_id=f"{tag}{i}", type="view", timestamp=ts)
            for i, ts in enumerate(timestamps)
        ]
    )


@pytest.fixture
def shuffled_log(tmp_path: Path) -> list[tuple[int, int, str]]:
    """A log whose frames are out of time order, with ties; returns (ts, offset, item)."""
    rng = np.random.default_rng(7)
    rows = []
    settings = LogSettings(fsync=False, group_commit_ms=0, segment_bytes=4096)
    with EmbeddedEventLog.open(tmp_path, settings) as log:
        for k in range(30):
            timestamps = rng.integers(0, 50, size=int(rng.integers(1, 20))).tolist()
            stored = log.append(stamped(timestamps, f"f{k}."))
            rows += zip(timestamps, stored.offset.tolist(), stored.item_id, strict=True)
    assert len(list_segments(tmp_path)) > 1
    return rows


def test_it_satisfies_the_port(tmp_path: Path) -> None:
    assert isinstance(EmbeddedHistory(tmp_path), History)


def test_scan_is_in_timestamp_then_offset_order(
    tmp_path: Path, shuffled_log: list[tuple[int, int, str]]
) -> None:
    history = EmbeddedHistory(tmp_path)
    chunks = list(history.scan(chunk_size=16))
    assert all(len(c) == 16 for c in chunks[:-1]) and 0 < len(chunks[-1]) <= 16
    scanned = EventBatch.concat(chunks)
    expected = sorted(shuffled_log)
    assert list(zip(scanned.timestamp.tolist(), scanned.offset.tolist(), strict=True)) == [
        (ts, offset) for ts, offset, _ in expected
    ]
    assert scanned.item_id == [item for _, _, item in expected]
    assert history.count() == len(shuffled_log)


def test_scan_keeps_the_half_open_time_window(
    tmp_path: Path, shuffled_log: list[tuple[int, int, str]]
) -> None:
    history = EmbeddedHistory(tmp_path)
    for since, until in [(10, 20), (None, 5), (45, None), (20, 20), (0, 1000)]:
        scanned = EventBatch.concat(history.scan(since, until))
        expected = [
            offset
            for ts, offset, _ in sorted(shuffled_log)
            if (since is None or ts >= since) and (until is None or ts < until)
        ]
        assert scanned.offset.tolist() == expected


def test_scan_returns_every_field(tmp_path: Path) -> None:
    batch = make_batch(30)
    with EmbeddedEventLog.open(tmp_path, FAST) as log:
        log.append(batch)
    scanned = EventBatch.concat(EmbeddedHistory(tmp_path).scan())
    assert list(scanned.records()) == list(batch.records())


def test_an_empty_or_missing_log_has_no_history(tmp_path: Path) -> None:
    assert EmbeddedHistory(tmp_path / "missing").count() == 0
    assert list(EmbeddedHistory(tmp_path / "missing").scan()) == []
    EmbeddedEventLog.open(tmp_path, FAST).close()
    assert EmbeddedHistory(tmp_path).count() == 0


def test_write_adds_nothing_because_the_log_already_holds_the_events(tmp_path: Path) -> None:
    with EmbeddedEventLog.open(tmp_path, FAST) as log:
        stored = log.append(make_batch(5))
        history = EmbeddedHistory(tmp_path)
        history.write(stored)
        assert history.count() == 5


def test_an_incomplete_tail_frame_is_not_history_and_is_left_alone(tmp_path: Path) -> None:
    with EmbeddedEventLog.open(tmp_path, FAST) as log:
        log.append(make_batch(5, tag="a"))
        size = list_segments(tmp_path)[-1][1].stat().st_size
        log.append(make_batch(5, tag="b"))
    path = list_segments(tmp_path)[-1][1]
    torn = path.read_bytes()[: size + HEADER_SIZE + 3]
    path.write_bytes(torn)
    history = EmbeddedHistory(tmp_path)
    assert history.count() == 5
    assert EventBatch.concat(history.scan()).item_id == [f"a-{i}" for i in range(5)]
    assert path.read_bytes() == torn


def test_damage_in_an_earlier_segment_fails_the_scan(
    tmp_path: Path, shuffled_log: list[tuple[int, int, str]]
) -> None:
    first = list_segments(tmp_path)[0][1]
    data = bytearray(first.read_bytes())
    data[HEADER_SIZE + 4] ^= 0xFF
    first.write_bytes(bytes(data))
    with pytest.raises(CorruptData, match=first.name):
        list(EmbeddedHistory(tmp_path).scan())


def test_chunk_size_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput):
        next(EmbeddedHistory(tmp_path).scan(chunk_size=0))
