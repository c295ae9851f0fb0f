"""Retention of the embedded log: bounded by size and age, never past a snapshot."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

from streamrec.config import LogSettings, Settings
from streamrec.events import EventBatch
from streamrec.history.embedded import EmbeddedHistory
from streamrec.log.embedded import EmbeddedEventLog
from streamrec.log.embedded.segments import list_segments
from streamrec.serving.app import create_app


def batch(start: int, n: int = 50) -> EventBatch:
    k = np.arange(start, start + n).tolist()
    return EventBatch.from_columns(
        {
            "user_id": [f"u{x % 13}" for x in k],
            "item_id": [f"i{x % 29}" for x in k],
            "type": [0] * n,
            "value": [None] * n,
            "timestamp": [1_700_000_000_000 + x for x in k],
        }
    )


def disk_bytes(directory: Path) -> int:
    return sum(path.stat().st_size for _, path in list_segments(directory))


def test_size_retention_deletes_only_what_a_snapshot_holds(tmp_path: Path) -> None:
    settings = LogSettings(segment_bytes=4096, retention_bytes=16_384)
    with EmbeddedEventLog.open(tmp_path, settings) as log:
        for n in range(200):
            log.append(batch(n * 50))
        end = log.end_positions()[0]
        before = disk_bytes(tmp_path)
        assert before > 10 * settings.retention_bytes

        assert log.compact(keep_from=0) == 0  # a snapshot holding nothing keeps everything
        held = end // 2
        log.compact(keep_from=held)
        segments = list_segments(tmp_path)
        assert segments[0][0] <= held  # nothing past the snapshot's position went
        assert disk_bytes(tmp_path) > settings.retention_bytes

        freed = log.compact(keep_from=end)
        assert freed > 0
        assert disk_bytes(tmp_path) <= settings.retention_bytes + settings.segment_bytes
        start = log.start_offset()
        assert start == list_segments(tmp_path)[0][0] > 0

        consumer = log.consumer("late-reader")  # positioned at 0: reads from the start
        read = consumer.poll(100_000, 1.0)
        assert read.offset[0] == start and read.offset[-1] == end - 1
        consumer.close()
    with EmbeddedEventLog.open(tmp_path, settings) as reopened:
        assert reopened.start_offset() == start and reopened.end_positions()[0] == end
        reopened.append(batch(10**6))
    scanned = sum(len(b) for b in EmbeddedHistory(tmp_path).scan())
    assert scanned == end - start + 50


def test_age_retention_deletes_old_sealed_segments(tmp_path: Path) -> None:
    settings = LogSettings(segment_bytes=4096, retention_s=3600)
    with EmbeddedEventLog.open(tmp_path, settings) as log:
        for n in range(60):
            log.append(batch(n * 50))
        segments = list_segments(tmp_path)
        old = time.time() - 7200
        for _, path in segments[:3]:
            os.utime(path, (old, old))
        log.compact(keep_from=log.end_positions()[0])
        assert list_segments(tmp_path) == segments[3:]
        assert log.compact(keep_from=log.end_positions()[0]) == 0  # the rest is recent


@contextmanager
def serving(data_dir: Path) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=data_dir,
        log={"segment_bytes": 8192, "retention_bytes": 65_536},
        state={"snapshot_every_events": 500},
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def test_a_serving_engine_keeps_its_log_bounded_and_restarts_equal(tmp_path: Path) -> None:
    with serving(tmp_path) as client:
        for n in range(120):
            body = {"events": list(batch(n * 50).records())}
            assert client.post("/v1/events?wait=true", json=body).status_code == 202
        assert disk_bytes(tmp_path / "log") <= 65_536 + 2 * 8192
        before = [client.get(f"/v1/items/i{n}").json() for n in range(29)]
        profile = client.get("/v1/users/u3/profile").json()
    assert list_segments(tmp_path / "log")[0][0] > 0  # old segments are gone
    with serving(tmp_path) as client:
        assert [client.get(f"/v1/items/i{n}").json() for n in range(29)] == before
        assert client.get("/v1/users/u3/profile").json() == profile
