"""The embedded event log: framing, group commit, consumers, recovery, durability."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from streamrec.config import LogSettings
from streamrec.errors import BackendUnavailable, CorruptData, InvalidInput
from streamrec.events import Event, EventBatch
from streamrec.log.base import EventLog, LogConsumer
from streamrec.log.embedded import EmbeddedEventLog
from streamrec.log.embedded.frames import HEADER_SIZE, decode_header
from streamrec.log.embedded.segments import list_segments

FAST = LogSettings(fsync=False, group_commit_ms=0)


def make_batch(n: int, tag: str = "b", start_ts: int = 1_700_000_000_000) -> EventBatch:
    """``n`` events whose item ids carry ``tag`` and their index, with every field varied."""
    events = [
        Event(
            user_id=f"u{i % 7}",
            item_id=f"{tag}-{i}",
            type=("view", "rating", "purchase", "like")[i % 4],
            value=None if i % 3 == 0 else i / 2,
            timestamp=start_ts + i,
            session_id=f"s{i % 2}" if i % 5 else None,
            context={"page": "home", "position": i, "tags": ["a", "ü"]} if i % 4 == 1 else None,
            recommendation_id=f"r{i}" if i % 6 == 2 else None,
        )
        for i in range(n)
    ]
    return EventBatch.from_events(events)


def read_all(log: EmbeddedEventLog, group: str = "reader") -> EventBatch:
    consumer = log.consumer(group)
    parts = []
    while batch := consumer.poll(1_000_000, 0):
        parts.append(batch)
    consumer.close()
    return EventBatch.concat(parts)


def segment_file(directory: Path, index: int = -1) -> Path:
    return list_segments(directory)[index][1]


def test_adapters_satisfy_the_ports(tmp_path: Path) -> None:
    with EmbeddedEventLog.open(tmp_path, FAST) as log:
        assert isinstance(log, EventLog)
        assert isinstance(log.consumer("g"), LogConsumer)


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    batch = make_batch(40)
    with EmbeddedEventLog.open(tmp_path) as log:
        stored = log.append(batch)
        assert stored.offset.tolist() == list(range(40))
        assert stored.partition.tolist() == [0] * 40
        read = read_all(log)
    assert list(read.records()) == list(batch.records())
    assert np.isnan(read.value[0]) and read.value[1] == 0.5
    assert read.context[1] == {"page": "home", "position": 1, "tags": ["a", "ü"]}
    assert read.session_id[0] is None and read.session_id[1] == "s1"
    assert read.offset.tolist() == list(range(40))
    with EmbeddedEventLog.open(tmp_path) as log:
        assert list(read_all(log).records()) == list(batch.records())


def test_empty_append_writes_nothing(tmp_path: Path) -> None:
    with EmbeddedEventLog.open(tmp_path, FAST) as log:
        stored = log.append(EventBatch.from_events([]))
        assert len(stored) == 0
        assert log.end_positions() == {0: 0}
        assert segment_file(tmp_path).stat().st_size == 0


def test_concurrent_appends_get_dense_offsets_in_each_threads_order(tmp_path: Path) -> None:
    threads, batches = 8, 40
    offsets: dict[int, list[np.ndarray]] = {t: [] for t in range(threads)}

    def produce(t: int) -> None:
        rng = np.random.default_rng(t)
        for b in range(batches):
            stored = log.append(make_batch(int(rng.integers(1, 30)), tag=f"t{t}.{b}"))
            offsets[t].append(stored.offset)

    with EmbeddedEventLog.open(tmp_path, LogSettings(group_commit_ms=2)) as log:
        workers = [threading.Thread(target=produce, args=(t,)) for t in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        everything = np.concatenate([o for t in offsets for o in offsets[t]])
        assert np.array_equal(np.sort(everything), np.arange(len(everything)))
        assert log.end_positions() == {0: len(everything)}
        read = read_all(log)
    for t, placed in offsets.items():
        flat = np.concatenate(placed)
        assert np.all(np.diff(flat) > 0), f"thread {t}'s batches are out of order"
        for b, batch_offsets in enumerate(placed):
            for i, offset in enumerate(batch_offsets.tolist()):
                assert read.item_id[offset] == f"t{t}.{b}-{i}"


def test_a_consumer_reading_during_concurrent_appends_sees_every_event_once(
    tmp_path: Path,
) -> None:
    settings = LogSettings(fsync=False, group_commit_ms=1, segment_bytes=8192)
    total = 4 * 50 * 10
    with EmbeddedEventLog.open(tmp_path, settings) as log:
        consumer = log.consumer("g")
        seen: list[str] = []

        def consume() -> None:
            while len(seen) < total:
                seen.extend(consumer.poll(37, 5.0).item_id)

        def produce(t: int) -> None:
            for b in range(50):
                log.append(make_batch(10, tag=f"t{t}.{b}"))

        reader = threading.Thread(target=consume)
        reader.start()
        writers = [threading.Thread(target=produce, args=(t,)) for t in range(4)]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
        reader.join(timeout=60)
        assert not reader.is_alive()
        assert seen == read_all(log).item_id
        assert len(set(seen)) == total


def test_poll_from_any_offset_including_mid_frame_and_across_segments(tmp_path: Path) -> None:
    settings = LogSettings(fsync=False, group_commit_ms=0, segment_bytes=4096)
    sizes = [1, 17, 3, 60, 2, 45, 9, 30, 1, 25]
    with EmbeddedEventLog.open(tmp_path, settings) as log:
        for k, size in enumerate(sizes):
            log.append(make_batch(size, tag=f"f{k}"))
        assert len(list_segments(tmp_path)) > 2
        expected = read_all(log).item_id
        total = sum(sizes)
        consumer = log.consumer("g")
        for start in range(total + 1):
            for max_events in (1, 7, 1000):
                consumer.seek({0: start})
                got = consumer.poll(max_events, 0)
                assert got.item_id == expected[start : start + max_events]
                assert got.offset.tolist() == list(range(start, start + len(got)))


def test_sequential_polls_split_frames_without_losing_events(tmp_path: Path) -> None:
    with EmbeddedEventLog.open(tmp_path, FAST) as log:
        for k in range(5):
            log.append(make_batch(100, tag=f"f{k}"))
        consumer = log.consumer("g")
        seen: list[int] = []
        while batch := consumer.poll(33, 0):
            seen.extend(batch.offset.tolist())
        assert seen == list(range(500))


def test_poll_wakes_up_on_append(tmp_path: Path) -> None:
    with EmbeddedEventLog.open(tmp_path) as log:
        consumer = log.consumer("g")
        started = time.monotonic()
        assert len(consumer.poll(10, 0.05)) == 0
        assert time.monotonic() - started >= 0.04
        timer = threading.Timer(0.1, log.append, args=(make_batch(3),))
        timer.start()
        started = time.monotonic()
        got = consumer.poll(10, 10.0)
        elapsed = time.monotonic() - started
        timer.join()
    assert got.offset.tolist() == [0, 1, 2]
    assert elapsed < 5.0


def test_close_releases_a_waiting_poll(tmp_path: Path) -> None:
    log = EmbeddedEventLog.open(tmp_path, FAST)
    consumer = log.consumer("g")
    timer = threading.Timer(0.1, log.close)
    timer.start()
    started = time.monotonic()
    assert len(consumer.poll(10, 30.0)) == 0
    assert time.monotonic() - started < 10.0
    timer.join()
    with pytest.raises(BackendUnavailable):
        log.append(make_batch(1))


def test_committed_positions_survive_reopen(tmp_path: Path) -> None:
    group = "processor/one ü"
    with EmbeddedEventLog.open(tmp_path) as log:
        log.append(make_batch(20))
        consumer = log.consumer(group)
        assert consumer.committed() == {}
        assert len(consumer.poll(12, 0)) == 12
        consumer.commit({0: 12})
        assert consumer.committed() == {0: 12}
    with EmbeddedEventLog.open(tmp_path) as log:
        consumer = log.consumer(group)
        assert consumer.committed() == {0: 12}
        assert consumer.poll(100, 0).offset.tolist() == list(range(12, 20))
        assert log.consumer("other").poll(1, 0).offset.tolist() == [0]
        assert not list((tmp_path / "consumers").glob("*.tmp"))


def test_positions_outside_the_log_are_refused(tmp_path: Path) -> None:
    with EmbeddedEventLog.open(tmp_path, FAST) as log:
        log.append(make_batch(5))
        consumer = log.consumer("g")
        with pytest.raises(InvalidInput):
            consumer.commit({0: 6})
        with pytest.raises(InvalidInput):
            consumer.seek({0: -1})
        with pytest.raises(InvalidInput):
            consumer.commit({1: 0})
        with pytest.raises(InvalidInput):
            log.consumer("")
        consumer.commit({0: 5})
        assert consumer.committed() == {0: 5}


def test_segments_roll_at_the_size_limit(tmp_path: Path) -> None:
    settings = LogSettings(fsync=False, group_commit_ms=0, segment_bytes=4096)
    with EmbeddedEventLog.open(tmp_path, settings) as log:
        for k in range(60):
            log.append(make_batch(10, tag=f"f{k}"))
    segments = list_segments(tmp_path)
    assert len(segments) > 5
    assert all(path.stat().st_size <= 4096 for _, path in segments)
    with EmbeddedEventLog.open(tmp_path, settings) as log:
        assert log.end_positions() == {0: 600}
        read = read_all(log)
        assert read.offset.tolist() == list(range(600))
        for base, path in segments:
            _, header = decode_header(path.read_bytes()[:HEADER_SIZE], 0, 0)
            assert header is not None and header.base_offset == base
        assert log.append(make_batch(1)).offset.tolist() == [600]


def test_a_second_open_of_the_same_directory_is_refused(tmp_path: Path) -> None:
    with EmbeddedEventLog.open(tmp_path, FAST), pytest.raises(BackendUnavailable):
        EmbeddedEventLog.open(tmp_path, FAST)


def _three_frames(directory: Path) -> tuple[int, bytes, list[dict[str, Any]]]:
    """Write three frames; return where the last starts, the file, and the first two."""
    with EmbeddedEventLog.open(directory, FAST) as log:
        log.append(make_batch(4, tag="a"))
        log.append(make_batch(6, tag="b"))
        last_start = segment_file(directory).stat().st_size
        kept = list(read_all(log).records())
        log.append(make_batch(5, tag="c"))
    return last_start, segment_file(directory).read_bytes(), kept


def test_a_torn_tail_at_any_byte_is_truncated_and_earlier_frames_kept(tmp_path: Path) -> None:
    last_start, data, kept = _three_frames(tmp_path)
    path = segment_file(tmp_path)
    for cut in range(last_start, len(data)):
        path.write_bytes(data[:cut])
        with EmbeddedEventLog.open(tmp_path, FAST) as log:
            assert path.stat().st_size == last_start
            assert log.end_positions() == {0: 10}
            assert list(read_all(log).records()) == kept
            assert log.append(make_batch(2)).offset.tolist() == [10, 11]


def test_a_bad_checksum_in_the_tail_frame_is_truncated(tmp_path: Path) -> None:
    last_start, data, kept = _three_frames(tmp_path)
    damaged = bytearray(data)
    damaged[last_start + HEADER_SIZE + 5] ^= 0xFF
    segment_file(tmp_path).write_bytes(bytes(damaged))
    with EmbeddedEventLog.open(tmp_path, FAST) as log:
        assert log.end_positions() == {0: 10}
        assert list(read_all(log).records()) == kept


def _damage(path: Path, position: int) -> None:
    data = bytearray(path.read_bytes())
    data[position] ^= 0xFF
    path.write_bytes(bytes(data))


def _rolled_log(directory: Path) -> None:
    settings = LogSettings(fsync=False, group_commit_ms=0, segment_bytes=4096)
    with EmbeddedEventLog.open(directory, settings) as log:
        for k in range(40):
            log.append(make_batch(10, tag=f"f{k}"))


def test_a_damaged_header_in_an_earlier_segment_fails_the_open(tmp_path: Path) -> None:
    _rolled_log(tmp_path)
    first = segment_file(tmp_path, 0)
    size = first.stat().st_size
    with EmbeddedEventLog.open(tmp_path, FAST) as log:
        frame = log.consumer("g").poll(1, 0)
        assert frame.offset.tolist() == [0]
    second_frame = next(p for p in range(1, size) if first.read_bytes()[p : p + 4] == b"SRLF")
    _damage(first, second_frame + 6)
    with pytest.raises(CorruptData, match=rf"{first.name}.*byte {second_frame}"):
        EmbeddedEventLog.open(tmp_path, FAST)


def test_a_damaged_payload_in_an_earlier_segment_fails_the_read(tmp_path: Path) -> None:
    _rolled_log(tmp_path)
    first = segment_file(tmp_path, 0)
    _damage(first, HEADER_SIZE + 10)
    with EmbeddedEventLog.open(tmp_path, FAST) as log:
        consumer = log.consumer("g")
        with pytest.raises(CorruptData, match=rf"{first.name} at byte 0"):
            consumer.poll(10, 0)
        last_segment_base = list_segments(tmp_path)[-1][0]
        consumer.seek({0: last_segment_base})
        assert int(consumer.poll(1, 0).offset[0]) == last_segment_base


def test_segments_that_do_not_continue_each_other_fail_the_open(tmp_path: Path) -> None:
    _rolled_log(tmp_path)
    segment_file(tmp_path, 1).unlink()
    with pytest.raises(CorruptData, match="starts at offset"):
        EmbeddedEventLog.open(tmp_path, FAST)


def test_a_failed_write_stops_appends_and_keeps_acknowledged_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with EmbeddedEventLog.open(tmp_path) as log:
        log.append(make_batch(3))

        def disk_error(fd: int) -> None:
            raise OSError(5, "Input/output error")

        monkeypatch.setattr(os, "fdatasync", disk_error)
        with pytest.raises(BackendUnavailable, match="write failed"):
            log.append(make_batch(2))
        monkeypatch.undo()
        with pytest.raises(BackendUnavailable):
            log.append(make_batch(2))
        assert log.end_positions() == {0: 3}
        assert read_all(log).offset.tolist() == [0, 1, 2]


CHILD = textwrap.dedent(
    """
    import sys, threading
    from streamrec.config import LogSettings
    from streamrec.events import Event, EventBatch
    from streamrec.log.embedded import EmbeddedEventLog

    log = EmbeddedEventLog.open(sys.argv[1], LogSettings(group_commit_ms=1))
    printing = threading.Lock()

    def produce(t):
        for seq in range(1_000_000):
            batch = EventBatch.from_events(
                [Event(user_id=f"u{t}", item_id=f"{t}.{seq}.{i}", type="view") for i in range(25)]
            )
            stored = log.append(batch)
            with printing:
                print(t, seq, int(stored.offset[0]), flush=True)

    for t in range(4):
        threading.Thread(target=produce, args=(t,), daemon=True).start()
    threading.Event().wait()
    """
)


def test_every_acknowledged_event_survives_sigkill(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    acknowledged = []
    for line in child.stdout:
        t, seq, base = (int(x) for x in line.split())
        acknowledged.append((t, seq, base))
        if len(acknowledged) >= 400:
            break
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    child.stdout.close()
    with EmbeddedEventLog.open(tmp_path, FAST) as log:
        read = read_all(log)
        assert log.end_positions() == {0: len(read)}
    assert read.offset.tolist() == list(range(len(read)))
    for t, seq, base in acknowledged:
        assert read.item_id[base : base + 25] == [f"{t}.{seq}.{i}" for i in range(25)]
