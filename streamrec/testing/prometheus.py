"""A real Prometheus on a free loopback port, and promtool, from Debian's ``prometheus``.

>>> with prometheus_server(config) as url:     # doctest: +SKIP
...     httpx.get(f"{url}/api/v1/query", params={"query": "up"})
"""

from __future__ import annotations

import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from streamrec.testing.process import find_binary, free_port, running

_HINT = "apt-get install prometheus (it ships prometheus and promtool)"


def promtool_binary() -> Path:
    """Prometheus's rule and config checker.

    Raises
    ------
    MissingBinary
        If it is not installed.
    """
    return find_binary("promtool", _HINT)


def prometheus_binary() -> Path:
    """The Prometheus server.

    Raises
    ------
    MissingBinary
        If it is not installed.
    """
    return find_binary("prometheus", _HINT)


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def prometheus_server(config: str, timeout_s: float = 60.0) -> Iterator[str]:
    """Prometheus running ``config`` (YAML text) with its data in a temporary directory.

    Paths in ``config`` (rule files) must be absolute. Yields the base URL of its
    HTTP API, ``http://127.0.0.1:<port>``.

    Raises
    ------
    MissingBinary
        If Prometheus is not installed.
    ServerStartError
        If it exits or is not ready in time (the message holds its log).
    """
    binary = prometheus_binary()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="streamrec-prometheus-") as tmp:
        root = Path(tmp)
        (root / "prometheus.yml").write_text(config)
        argv: list[str | Path] = [
            binary,
            f"--config.file={root / 'prometheus.yml'}",
            f"--storage.tsdb.path={root / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--web.enable-lifecycle",
        ]
        with running(
            "prometheus",
            argv,
            log_path=root / "prometheus.log",
            ready=lambda: _ready(url),
            timeout_s=timeout_s,
            cwd=root,
        ):
            yield url
