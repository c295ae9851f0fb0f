"""A running server retrains by itself after N events and serves the new models,
answering every request meanwhile."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from streamrec.testing.process import free_port, running

THRESHOLD = 200


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def _events(offset: int, n: int) -> list[dict[str, object]]:
    """Views of 40 users over 30 items, each user on a band of neighbouring items."""
    return [
        {
            "user_id": f"u{(offset + i) % 40}",
            "item_id": f"i{((offset + i) % 40 + (offset + i) // 40 % 6) % 30}",
            "type": "view",
            "timestamp": 1_000 + offset + i,
        }
        for i in range(n)
    ]


def test_server_retrains_after_the_threshold_and_keeps_answering(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [
        sys.executable, "-m", "streamrec", "serve", "--data-dir", str(tmp_path / "data"),
        "--port", str(port), "--retrain-every-events", str(THRESHOLD), "--retrain-every-s", "0",
    ]  # fmt: skip
    monkeypatch.setenv("STREAMREC_MODELS__KINDS", '["itemknn"]')  # the server inherits it
    monkeypatch.setenv("STREAMREC_MODELS__TUNE_BUDGET_S", "0")  # validated, not searched
    server = running(
        "streamrec serve", argv, log_path=tmp_path / "serve.log", ready=lambda: _ready(url)
    )
    with server, httpx.Client(base_url=url, timeout=10) as client:
        before = client.get("/readyz").json()
        assert before["model_version"] is None
        assert before["retrain"]["runs"] == 0 and before["retrain"]["events_since"] == 0

        statuses: list[int] = []
        stop = threading.Event()

        def hammer() -> None:
            with httpx.Client(base_url=url, timeout=10) as reader:
                while not stop.is_set():
                    user = f"u{len(statuses) % 40}"
                    statuses.append(reader.get(f"/v1/users/{user}/recommendations").status_code)

        reader = threading.Thread(target=hammer)
        reader.start()
        try:
            for offset in range(0, THRESHOLD + 40, 40):
                response = client.post("/v1/events?wait=true", json={"events": _events(offset, 40)})
                assert response.status_code == 202
            deadline = time.monotonic() + 90
            # the model store's watcher may swap the version in before the schedule
            # collects the training's outcome: wait for both
            while (ready := client.get("/readyz").json())["model_version"] is None or ready[
                "retrain"
            ]["last_outcome"] is None:
                assert time.monotonic() < deadline, f"no model was served: {ready}"
                time.sleep(0.2)
            time.sleep(0.5)  # requests on the new version too
        finally:
            stop.set()
            reader.join()

        retrain = ready["retrain"]
        assert retrain["runs"] == 1 and retrain["failures"] == 0
        assert retrain["last_outcome"] == "succeeded" and retrain["last_trigger"] == "events"
        assert retrain["last_version"] == ready["model_version"]
        assert statuses and set(statuses) == {200}, f"{len(statuses)} requests"

        body = client.get("/v1/users/u3/recommendations?k=10").json()
        assert body["model_version"] == ready["model_version"]
        assert any("itemknn" in item["sources"] for item in body["items"])
        metrics = client.get("/metrics").text
        assert "streamrec_retrain_runs_total 1.0" in metrics
        assert "streamrec_retrain_failures_total 0.0" in metrics
