"""A full disk, on a small tmpfs the test mounts: writes answer 503 with Retry-After,
nothing is corrupted, and writes resume once space returns."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from streamrec.config import Settings
from streamrec.log.embedded import EmbeddedEventLog
from streamrec.serving.app import create_app

IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MiB tmpfs, unmounted after the test."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        reason = f"cannot mount a tmpfs (root needed): {done.stderr.strip()}"
        if IN_CI:
            pytest.fail(f"CI must run the disk-full test: {reason}")
        pytest.skip(reason)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(path: Path) -> None:
    """Write ``path`` until the file system has no room left."""
    with path.open("wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65_536)
                handle.flush()
        except OSError:
            pass
    try:
        with path.open("ab") as handle:
            while True:
                handle.write(b"\0" * 512)
                handle.flush()
    except OSError:
        pass


def events(start: int, n: int = 200) -> dict[str, object]:
    return {
        "events": [
            {"user_id": f"u{k % 11}", "item_id": f"i{k}", "type": "view", "timestamp": k}
            for k in range(start, start + n)
        ]
    }


def test_a_full_disk_refuses_writes_then_resumes(small_disk: Path) -> None:
    data = small_disk / "data"
    settings = Settings(data_dir=data, log={"disk_full_retry_s": 7})
    acknowledged: list[int] = []
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        assert client.post("/v1/events?wait=true", json=events(0)).status_code == 202
        acknowledged.append(0)
        filler = small_disk / "filler"
        fill(filler)
        refused = 0
        for n in range(1, 6):
            response = client.post("/v1/events", json=events(n * 200))
            if response.status_code == 202:  # what still fit in a partly used page
                acknowledged.append(n * 200)
                continue
            assert response.status_code == 503, response.text
            assert response.headers["Retry-After"] == "7"
            assert response.json()["error"]["code"] == "overloaded"
            refused += 1
        assert refused > 0
        put = client.put("/v1/items/i1", json={"title": "Tent"})
        assert put.status_code == 503 and put.headers["Retry-After"]

        filler.unlink()  # space returns
        for n in range(10, 13):
            response = client.post("/v1/events?wait=true", json=events(n * 200))
            assert response.status_code == 202, response.text
            acknowledged.append(n * 200)
        assert client.put("/v1/items/i1", json={"title": "Tent"}).status_code == 200
        assert client.get("/readyz").status_code == 200
        for start in acknowledged:
            assert client.get(f"/v1/items/i{start}").json()["stats"]["counts"] == {"view": 1}

    with EmbeddedEventLog.open(data / "log", settings.log) as log:  # nothing corrupted
        consumer = log.consumer("check")
        read = consumer.poll(100_000, 1.0)
        consumer.close()
    assert sorted(int(i[1:]) for i in read.item_id) == sorted(
        k for start in acknowledged for k in range(start, start + 200)
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        assert client.get("/v1/items/i1").json()["metadata"]["title"] == "Tent"
        assert client.get(f"/v1/items/i{acknowledged[-1]}").json()["stats"]["counts"] == {"view": 1}
