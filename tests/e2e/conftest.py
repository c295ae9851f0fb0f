"""A real ``streamrec serve`` for the client tests, started once per session.

It runs as a subprocess on a free loopback port over an embedded data directory;
tests share it, so each one uses its own user, item and category ids.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamrec.client import RetryPolicy, StreamrecClient, StreamrecConnectionError
from streamrec.testing.process import free_port, running


def _ready(url: str) -> bool:
    with StreamrecClient(url, timeout=1.0, retry=RetryPolicy(attempts=1)) as client:
        try:
            return client.ready().ready
        except StreamrecConnectionError:
            return False


@pytest.fixture(scope="session")
def streamrec_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a running ``streamrec serve``."""
    root: Path = tmp_path_factory.mktemp("streamrec-serve")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "streamrec", "serve", "--data-dir", str(root / "data")]
    with running(
        "streamrec serve",
        [*argv, "--port", str(port)],
        log_path=root / "serve.log",
        ready=lambda: _ready(url),
        timeout_s=120,
    ):
        yield url
