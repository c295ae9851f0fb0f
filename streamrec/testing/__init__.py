"""Launchers for real servers (Kafka protocol, Redis, PostgreSQL, Prometheus) on
loopback ports.

Used by the integration tests, the benchmarks and ``streamrec cluster up``. Every
launcher is a context manager that starts the server in a temporary directory, waits
until it answers and always stops it.
"""

from streamrec.testing.process import MissingBinary, ServerStartError
from streamrec.testing.prometheus import prometheus_binary, prometheus_server, promtool_binary
from streamrec.testing.servers import (
    KafkaBroker,
    PostgresServer,
    kafka_broker,
    postgres_server,
    redis_cluster,
    redis_server,
    restartable_postgres,
)

__all__ = [
    "KafkaBroker",
    "MissingBinary",
    "PostgresServer",
    "ServerStartError",
    "kafka_broker",
    "postgres_server",
    "prometheus_binary",
    "prometheus_server",
    "promtool_binary",
    "redis_cluster",
    "redis_server",
    "restartable_postgres",
]
