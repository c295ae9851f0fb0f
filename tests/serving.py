"""A real ``streamrec serve`` on a free loopback port, for tests that talk HTTP to it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from streamrec.testing.process import free_port, running


def is_ready(url: str) -> bool:
    """Whether the server at ``url`` answers ``/readyz`` with 200."""
    try:
        return httpx.get(f"{url}/readyz", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def serving(root: Path, config: str | None = None) -> Iterator[str]:
    """Run ``streamrec serve`` on a data directory under ``root`` (with ``config`` as
    its settings file, if given) until the block ends; yields its base URL. Its log is
    ``root/serve.log``."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "streamrec", "serve", "--data-dir", str(root / "data")]
    argv += ["--port", str(port)]
    if config is not None:
        (root / "streamrec.toml").write_text(config)
        argv += ["--config", str(root / "streamrec.toml")]
    with running(
        "streamrec serve",
        argv,
        log_path=root / "serve.log",
        ready=lambda: is_ready(url),
        timeout_s=120,
    ):
        yield url
