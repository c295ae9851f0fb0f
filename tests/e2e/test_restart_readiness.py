"""``streamrec serve`` restarted over a long log tail: 503 with progress while it
replays, lists flagged ``degraded``, then ready with every event applied."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from streamrec.config import Settings
from streamrec.events import EventBatch
from streamrec.log.embedded import EmbeddedEventLog
from streamrec.testing.process import free_port, running

pytestmark = pytest.mark.slow

EVENTS = 60_000


def _write_log(data_dir: Path) -> None:
    with EmbeddedEventLog.open(data_dir / "log", Settings().log) as log:
        for start in range(0, EVENTS, 5_000):
            n = np.arange(start, start + 5_000).tolist()
            log.append(
                EventBatch.from_columns(
                    {
                        "user_id": [f"u{k % 1000}" for k in n],
                        "item_id": [f"i{(k * 13) % 400}" for k in n],
                        "type": [0] * len(n),
                        "value": [None] * len(n),
                        "timestamp": [1_700_000_000_000 + k for k in n],
                    }
                )
            )


def _answers(url: str) -> bool:
    try:
        httpx.get(f"{url}/healthz", timeout=1)
        return True
    except httpx.TransportError:
        return False


def test_restart_replays_the_tail_before_it_is_ready(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_log(tmp_path / "data")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("STREAMREC_PROCESSOR__MAX_BATCH", "25")  # a replay of 2,400 batches
    monkeypatch.setenv("STREAMREC_SERVING__REPLAY_WAIT_S", "0")
    argv = [sys.executable, "-m", "streamrec", "serve", "--data-dir", str(tmp_path / "data")]
    with running(
        "streamrec serve",
        [*argv, "--port", str(port), "--no-retrain"],
        log_path=tmp_path / "serve.log",
        ready=lambda: _answers(url),
        timeout_s=120,
    ):
        seen_replaying = []
        flagged = []
        deadline = time.monotonic() + 300
        while True:
            ready = httpx.get(f"{url}/readyz", timeout=10)
            if ready.status_code == 200:
                break
            body = ready.json()
            assert ready.status_code == 503 and body["status"] == "replaying", body
            seen_replaying.append(body["replay"])
            listed = httpx.get(f"{url}/v1/users/u1/recommendations", timeout=10).json()
            flagged.append(listed.get("degraded"))
            assert time.monotonic() < deadline, "the replay did not end"
            time.sleep(0.05)
        assert seen_replaying, "the replay ended before the server answered"
        assert all(p["target"] == {"0": EVENTS} for p in seen_replaying)
        remaining = [p["remaining"] for p in seen_replaying]
        assert remaining == sorted(remaining, reverse=True) and remaining[0] > 0
        assert ["replaying"] in flagged
        assert ready.json()["lag"] == 0 and ready.json()["replay"] is None
        listed = httpx.get(f"{url}/v1/users/u1/recommendations", timeout=10).json()
        assert listed["degraded"] == []
        profile = httpx.get(f"{url}/v1/users/u1/profile", timeout=10).json()
        assert profile["events"] == EVENTS // 1000
