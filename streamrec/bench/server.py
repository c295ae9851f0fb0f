"""The HTTP server under test, in its own process on a free loopback port.

``python -m streamrec.bench.server --data-dir DIR --port P [--server S]`` runs the
API v1 app on the HTTP server of ``streamrec serve`` (or ``S``), exactly like
``streamrec serve`` except that the per-request access log is off (a benchmark
measures the serving stack, not terminal output).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

from streamrec.config import Settings
from streamrec.serving.app import create_app
from streamrec.serving.http_server import HTTP_SERVERS, HttpServer, run_http
from streamrec.testing.process import free_port, running


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def serving(
    data_dir: Path, log_path: Path, timeout_s: float = 120.0, server: HttpServer | None = None
) -> Iterator[str]:
    """Run a server over ``data_dir`` until the block ends; yields its base URL.

    ``server`` picks the HTTP server (default: the one ``streamrec serve`` uses).
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "streamrec.bench.server", "--data-dir", data_dir, "--port", port]
    if server is not None:
        argv += ["--server", server]
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
    parser.add_argument("--server", choices=HTTP_SERVERS, help="default: as streamrec serve")
    args = parser.parse_args(argv)
    settings = Settings(data_dir=args.data_dir)
    app = create_app(settings)
    server = args.server or settings.serving.http_server
    run_http(app, "127.0.0.1", args.port, server, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
