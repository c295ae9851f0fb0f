"""``streamrec serve`` on either HTTP server answers the API and stops cleanly on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from streamrec.serving.http_server import HTTP_SERVERS
from streamrec.testing.process import free_port


def _wait_ready(process: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None, "server exited during start"
        assert time.monotonic() < deadline, "server did not become ready"
        time.sleep(0.1)


@pytest.mark.parametrize("server", HTTP_SERVERS)
def test_serve_on_each_http_server(tmp_path: Path, server: str) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "streamrec", "serve", "--data-dir", str(tmp_path)]
    process = subprocess.Popen(
        [*argv, "--port", str(port), "--http-server", server],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_ready(process, url)
        events = [
            {"user_id": f"u{n}", "item_id": item, "type": "view", "timestamp": n * 10 + i}
            for n in range(4)
            for i, item in enumerate(("tent", "stove"))
        ]
        with httpx.Client(base_url=url, timeout=10) as client:
            accepted = client.post("/v1/events?wait=true", json={"events": events})
            assert accepted.status_code == 202
            assert accepted.json() == {"accepted": 8, "applied": True}
            similar = client.get("/v1/items/tent/similar?k=5")
            assert similar.status_code == 200
            assert [i["item_id"] for i in similar.json()["items"]] == ["stove"]
            bad = client.post("/v1/events", json={"events": [{"type": "teleport"}]})
            assert bad.status_code == 422
            assert len(bad.json()["error"]["details"]) == 3
    finally:
        process.send_signal(signal.SIGTERM)
        # uvicorn re-raises the signal once it has shut down; granian returns
        assert process.wait(timeout=60) in (0, -signal.SIGTERM)
    assert (tmp_path / "state" / "snapshot.npz").exists()  # the lifespan closed the engine
