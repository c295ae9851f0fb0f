"""The HTTP server under test, in its own process on a free loopback port.

``python -m streamrec.bench.server --data-dir DIR --port P`` runs the API v1 app
with uvicorn exactly like ``streamrec serve``, except that the per-request access
log is off (a benchmark measures the serving stack, not terminal output).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn

from streamrec.config import Settings
from streamrec.serving.app import create_app
from streamrec.testing.process import free_port, running


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def serving(data_dir: Path, log_path: Path, timeout_s: float = 120.0) -> Iterator[str]:
    """Run a server over ``data_dir`` until the block ends; yields its base URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "streamrec.bench.server", "--data-dir", data_dir, "--port", port]
    with running(
        "streamrec server",
        [str(a) for a in argv],
        log_path=log_path,
        ready=lambda: _ready(url),
        timeout_s=timeout_s,
    ):
        yield url


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the engine of ``--data-dir`` on ``127.0.0.1:--port`` until SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m streamrec.bench.server")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    app = create_app(Settings(data_dir=args.data_dir))
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
