"""A server killed with SIGKILL mid-ingest loses no acknowledged event, and counts none
twice: once after a snapshot, and twenty times at random points (mid-batch,
mid-log-rotation, mid-snapshot, mid-catalog-write, mid-model-publish)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pytest

from streamrec.bootstrap import in_memory_engine
from streamrec.config import Settings
from streamrec.log.embedded import EmbeddedEventLog
from streamrec.state.memory.snapshot import load_snapshot
from streamrec.testing.process import free_port

pytestmark = pytest.mark.slow


@contextmanager
def server(
    data_dir: Path, snapshot_every: int = 700, segment_bytes: int = 64 * 1024 * 1024
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    env = {
        **os.environ,
        "STREAMREC_STATE__SNAPSHOT_EVERY_EVENTS": str(snapshot_every),
        "STREAMREC_LOG__SEGMENT_BYTES": str(segment_bytes),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamrec",
            "serve",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "server exited during start"
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.1)
        yield process, url
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)


def _stream(url: str, acknowledged: list[int], stop: threading.Event) -> None:
    """Post batches of 50 events, each on its own item, recording acknowledged ones."""
    n = 0
    with httpx.Client(base_url=url, timeout=10) as client:
        while not stop.is_set():
            events = [
                {
                    "user_id": f"u{(n + i) % 37}",
                    "item_id": f"i{n + i}",
                    "type": "view",
                    "timestamp": n + i,
                }
                for i in range(50)
            ]
            try:
                response = client.post("/v1/events", json={"events": events})
            except httpx.TransportError:
                return
            if response.status_code == 202:
                acknowledged.extend(range(n, n + 50))
            n += 50


def test_sigkill_during_ingest_loses_nothing(tmp_path: Path) -> None:
    acknowledged: list[int] = []
    with server(tmp_path) as (process, url):
        stop = threading.Event()
        client = threading.Thread(target=_stream, args=(url, acknowledged, stop))
        client.start()
        snapshot = tmp_path / "state" / "snapshot.npz"
        deadline = time.monotonic() + 120
        while len(acknowledged) < 3_000 or not snapshot.exists():  # kill after a snapshot
            assert time.monotonic() < deadline, "no snapshot was written during ingest"
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait()
        stop.set()
        client.join()

    with server(tmp_path) as (_, url), httpx.Client(base_url=url) as client:
        deadline = time.monotonic() + 30
        while client.get("/readyz").json()["lag"] > 0:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        for n in acknowledged[::7] + acknowledged[-50:]:
            stats = client.get(f"/v1/items/i{n}").json()["stats"]
            assert stats["counts"] == {"view": 1}, n

    assert_snapshot_equals_cold_replay(tmp_path)


def assert_snapshot_equals_cold_replay(tmp_path: Path) -> None:
    """The snapshot written at shutdown equals a cold replay of the whole log."""
    settings = Settings(data_dir=tmp_path)
    restored = load_snapshot(settings, tmp_path / "state" / "snapshot.npz")
    replayed = in_memory_engine(settings)
    log = EmbeddedEventLog.open(tmp_path / "log", settings.log)
    try:
        consumer = log.consumer("cold-replay")
        while len(batch := consumer.poll(100_000, 0.1)):
            replayed.ingest(batch)
    finally:
        log.close()
    assert restored.positions() == replayed.state.positions()
    assert restored.items.to_list() == replayed.state.items.to_list()
    n_items = restored.items.capacity
    at = restored.clock_ms
    assert at == replayed.state.clock_ms

    def decayed(state, name: str, stored: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
        return getattr(state.decays, name).value_at(stored, state.landmark_ms, at)

    np.testing.assert_allclose(
        decayed(restored, "popularity", restored.item_table.popularity[:n_items]),
        decayed(replayed.state, "popularity", replayed.state.item_table.popularity[:n_items]),
    )
    np.testing.assert_array_equal(
        restored.item_table.type_counts[:, :n_items],
        replayed.state.item_table.type_counts[:, :n_items],
    )
    for item in range(0, n_items, 97):
        ids_a, w_a = restored.cooccurrence.row(item)
        ids_b, w_b = replayed.state.cooccurrence.row(item)
        order_a, order_b = np.argsort(ids_a), np.argsort(ids_b)
        np.testing.assert_array_equal(ids_a[order_a], ids_b[order_b])
        np.testing.assert_allclose(
            decayed(restored, "cooccurrence", w_a[order_a]),
            decayed(replayed.state, "cooccurrence", w_b[order_b]),
        )


def _catalog_writer(url: str, stored: list[int], stop: threading.Event, first: int) -> None:
    """PUT catalog items one by one, recording the acknowledged ones."""
    n = first
    with httpx.Client(base_url=url, timeout=10) as client:
        while not stop.is_set():
            try:
                response = client.put(f"/v1/items/c{n}", json={"title": f"item {n}"})
            except httpx.TransportError:
                return
            if response.status_code == 200:
                stored.append(n)
            n += 1


def _stream_from(url: str, acknowledged: list[int], stop: threading.Event, first: int) -> None:
    """Post batches of 50 events on items ``e<n>``, recording acknowledged ones."""
    n = first
    with httpx.Client(base_url=url, timeout=10) as client:
        while not stop.is_set():
            events = [
                {"user_id": f"u{k % 37}", "item_id": f"e{k}", "type": "view", "timestamp": k}
                for k in range(n, n + 50)
            ]
            try:
                response = client.post("/v1/events", json={"events": events})
            except httpx.TransportError:
                return
            if response.status_code == 202:
                acknowledged.extend(range(n, n + 50))
            n += 50


@pytest.mark.timeout(1500)
def test_twenty_sigkills_at_random_points_lose_and_double_nothing(tmp_path: Path) -> None:
    """Kill -9 the server 20 times while it ingests, rolls log segments (32 KiB each),
    snapshots (every 300 events), writes the catalog and, every third round, while
    ``streamrec train`` publishes."""
    rng = random.Random(14)
    acknowledged: list[int] = []
    stored: list[int] = []
    next_event = next_item = 0
    for round_ in range(20):
        with server(tmp_path, snapshot_every=300, segment_bytes=32_768) as (process, url):
            stop = threading.Event()
            workers = [
                threading.Thread(target=_stream_from, args=(url, acknowledged, stop, next_event)),
                threading.Thread(target=_catalog_writer, args=(url, stored, stop, next_item)),
            ]
            for worker in workers:
                worker.start()
            trainer = None
            if round_ % 3 == 2:
                trainer = subprocess.Popen(
                    [sys.executable, "-m", "streamrec", "train", "--data-dir", str(tmp_path)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            time.sleep(rng.uniform(0.2, 2.5))
            process.send_signal(signal.SIGKILL)
            if trainer is not None:
                time.sleep(rng.uniform(0.0, 3.0))
                trainer.send_signal(signal.SIGKILL)
                trainer.wait()
            process.wait()
            stop.set()
            for worker in workers:
                worker.join()
            next_event += 1_000_000
            next_item += 1_000_000
    assert len(acknowledged) > 1_000 and stored

    with (
        server(tmp_path, segment_bytes=32_768) as (_, url),
        httpx.Client(base_url=url) as client,
    ):
        deadline = time.monotonic() + 60
        while client.get("/readyz").json()["lag"] > 0:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert len(list((tmp_path / "log" / "segments").iterdir())) > 3  # it rolled
        for n in acknowledged[::11] + acknowledged[-50:]:
            stats = client.get(f"/v1/items/e{n}").json()["stats"]
            assert stats["counts"] == {"view": 1}, n
        for n in stored[::5] + stored[-3:]:
            assert client.get(f"/v1/items/c{n}").json()["metadata"]["title"] == f"item {n}"
        assert client.get("/readyz").status_code == 200  # the models that loaded are whole
    assert_same_by_name(tmp_path)


def assert_same_by_name(tmp_path: Path) -> None:
    """The snapshot written at shutdown holds, item by item, what a cold replay of the
    log does (dense ids differ: catalog writes interleaved with events)."""
    settings = Settings(data_dir=tmp_path)
    restored = load_snapshot(settings, tmp_path / "state" / "snapshot.npz")
    replayed = in_memory_engine(settings).state
    log = EmbeddedEventLog.open(tmp_path / "log", settings.log)
    try:
        consumer = log.consumer("cold-replay")
        while len(batch := consumer.poll(100_000, 0.1)):
            replayed.apply(batch)
    finally:
        log.close()
    assert restored.positions() == replayed.positions()
    names = [n for n in replayed.items.to_list() if n is not None]
    found, expected = restored.item_stats(names), replayed.item_stats(names)
    assert [s.counts if s else None for s in found] == [s.counts if s else None for s in expected]
    for a, b in zip(found, expected, strict=True):
        assert a is not None and b is not None
        assert a.popularity == pytest.approx(b.popularity, rel=1e-9)
    sample = names[::13]
    for a, b in zip(restored.neighbors(sample, 20), replayed.neighbors(sample, 20), strict=True):
        assert a.item_ids == b.item_ids
