"""Real servers for the adapter tests, started once per session on loopback ports.

With ``CI=true`` a server that cannot start fails the tests that need it; elsewhere
a missing binary skips them with the reason (what to install).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TypeVar

import psycopg
import pytest

from streamrec.testing import (
    MissingBinary,
    PostgresServer,
    kafka_broker,
    postgres_server,
    prometheus_binary,
    promtool_binary,
    redis_cluster,
    redis_server,
    restartable_postgres,
)

IN_CI = os.environ.get("CI", "").lower() == "true"

T = TypeVar("T")


def _serve(launcher: Callable[[], AbstractContextManager[T]]) -> Iterator[T]:
    try:
        server = launcher()
        value = server.__enter__()
    except MissingBinary as exc:
        if IN_CI:
            pytest.fail(f"CI must run every integration test: {exc}")
        pytest.skip(str(exc))
    try:
        yield value
    finally:
        server.__exit__(None, None, None)


def _installed(find: Callable[[], Path]) -> Path:
    try:
        return find()
    except MissingBinary as exc:
        if IN_CI:
            pytest.fail(f"CI must run every integration test: {exc}")
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def promtool() -> Path:
    """Prometheus's ``promtool`` (Debian's ``prometheus`` package)."""
    return _installed(promtool_binary)


@pytest.fixture(scope="session")
def prometheus() -> Path:
    """The ``prometheus`` server binary (the same package)."""
    return _installed(prometheus_binary)


@pytest.fixture(scope="session")
def kafka_url() -> Iterator[str]:
    """``kafka://127.0.0.1:<port>`` of a tansu broker; append ``/<topic>`` to use it."""
    for broker in _serve(kafka_broker):
        yield broker.url


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """``redis://127.0.0.1:<port>/0`` of a single Redis server."""
    yield from _serve(redis_server)


@pytest.fixture(scope="session")
def redis_cluster_url() -> Iterator[str]:
    """``redis://127.0.0.1:<port>`` of one node of a 3-master Redis Cluster."""
    for nodes in _serve(redis_cluster):
        yield nodes[0]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """``postgresql://postgres@127.0.0.1:<port>/postgres`` of a throw-away server."""
    yield from _serve(postgres_server)


@pytest.fixture
def restartable_postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this test only, which it may stop and start again."""
    yield from _serve(restartable_postgres)


@pytest.fixture
def postgres_database(postgres_url: str) -> Iterator[str]:
    """The URL of a new, empty database on the session's server (dropped after)."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    yield postgres_url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture
def topic() -> str:
    """A topic name no other test uses."""
    return f"events-{uuid.uuid4().hex[:10]}"
