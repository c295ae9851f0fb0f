"""A whole scale-out topology on one machine: N processor and M API processes, and
the history archiver.

Workers run ``streamrec process`` and API replicas ``streamrec serve`` with the
Kafka log and Redis state URLs; given a history URL, one ``streamrec archive``
stores every event in PostgreSQL (its schema must be migrated).

The servers themselves (Kafka, Redis, PostgreSQL) are given by URL; for a local
try-out start them with :mod:`streamrec.testing` or ``deploy/compose.yaml``.

Examples
--------
>>> with cluster_up(2, 1, "kafka://127.0.0.1:9092/events",
...                 "redis://127.0.0.1:6379/0") as topology:  # doctest: +SKIP
...     print(topology.api_urls)
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx

from streamrec.errors import BackendUnavailable
from streamrec.history.archive import ARCHIVE_GROUP
from streamrec.processing.runner import STATE_GROUP
from streamrec.testing.process import free_port


@dataclass
class LocalCluster:
    """Running processes of a local topology; stop them with :meth:`down`."""

    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    apis: list[subprocess.Popen[bytes]] = field(default_factory=list)
    api_urls: list[str] = field(default_factory=list)
    archivers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def down(self, timeout_s: float = 15.0) -> None:
        """Stop every process (SIGTERM, then SIGKILL after ``timeout_s``)."""
        processes = [*self.apis, *self.workers, *self.archivers]
        for process in processes:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + timeout_s
        for process in processes:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def __enter__(self) -> LocalCluster:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.down()


def _streamrec(arguments: list[str], log_path: Path | None) -> subprocess.Popen[bytes]:
    """Start ``streamrec <arguments>`` in this interpreter."""
    argv = [sys.executable, "-m", "streamrec", *arguments]
    if log_path is None:
        return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    with log_path.open("ab") as output:  # the child keeps its own descriptor
        return subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT)


def start_worker(
    log_url: str, state_url: str, log_path: Path | None = None, group: str = STATE_GROUP
) -> subprocess.Popen[bytes]:
    """Start one processor process."""
    urls = ["--log", log_url, "--state", state_url]
    return _streamrec(["process", *urls, "--group", group], log_path)


def start_archiver(
    log_url: str, history_url: str, log_path: Path | None = None, group: str = ARCHIVE_GROUP
) -> subprocess.Popen[bytes]:
    """Start one history archiver process."""
    urls = ["--log", log_url, "--history", history_url]
    return _streamrec(["archive", *urls, "--group", group], log_path)


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BackendUnavailable(f"API process for {url} exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise BackendUnavailable(f"API at {url} not ready within {timeout_s} s")


def cluster_up(
    n_processors: int,
    n_api: int,
    log_url: str,
    state_url: str,
    history_url: str | None = None,
    *,
    log_dir: Path | None = None,
    data_dir: Path | None = None,
    group: str = STATE_GROUP,
    archive_group: str = ARCHIVE_GROUP,
    ready_timeout_s: float = 60.0,
) -> LocalCluster:
    """Start ``n_processors`` workers, ``n_api`` API replicas and, with a history URL,
    one archiver; return when all APIs answer ``/readyz``.

    Parameters
    ----------
    log_url, state_url, history_url
        ``kafka://host:port/topic``, ``redis://…`` and optionally ``postgresql://…``
        (migrated: ``streamrec migrate --history …``).
    log_dir
        Where each process writes its output (``worker-<i>.log``, ``api-<i>.log``,
        ``archive.log``); discarded when ``None``.
    data_dir
        The API replicas' data directory: where they watch the model store (the
        ``--data-dir`` of ``streamrec train``); their working directory's
        ``streamrec-data`` when ``None``.
    group, archive_group
        The workers' and the archiver's consumer groups.

    Raises
    ------
    BackendUnavailable
        If an API process exits or is not ready in time, or the archiver exited by
        then (everything is stopped).
    """
    cluster = LocalCluster()
    try:
        for i in range(n_processors):
            where = None if log_dir is None else log_dir / f"worker-{i}.log"
            cluster.workers.append(start_worker(log_url, state_url, where, group))
        history = ["--history", history_url] if history_url else []
        if history_url:
            where = None if log_dir is None else log_dir / "archive.log"
            cluster.archivers.append(start_archiver(log_url, history_url, where, archive_group))
        models = [] if data_dir is None else ["--data-dir", str(data_dir)]
        for i in range(n_api):
            port = free_port()
            where = None if log_dir is None else log_dir / f"api-{i}.log"
            urls = ["--log", log_url, "--state", state_url, *history, *models]
            serve = ["serve", *urls, "--host", "127.0.0.1", "--port", str(port)]
            cluster.apis.append(_streamrec(serve, where))
            cluster.api_urls.append(f"http://127.0.0.1:{port}")
        for url, process in zip(cluster.api_urls, cluster.apis, strict=True):
            _wait_ready(url, process, ready_timeout_s)
        for archiver in cluster.archivers:
            if archiver.poll() is not None:
                raise BackendUnavailable(f"the archiver exited with {archiver.returncode}")
    except BaseException:
        cluster.down()
        raise
    return cluster
