"""The server launchers: servers answer while running and are gone afterwards."""

from __future__ import annotations

import socket

import psycopg
import pytest
import redis
from redis.cluster import RedisCluster

from streamrec.testing import MissingBinary, PostgresServer, kafka_broker, redis_server
from streamrec.testing.process import find_binary

pytestmark = pytest.mark.integration


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_redis_answers_ping(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    assert client.ping()
    client.set("greeting", "hello")
    assert client.get("greeting") == b"hello"
    client.close()


def test_redis_cluster_is_ok_and_spreads_keys(redis_cluster_url: str) -> None:
    cluster = RedisCluster.from_url(redis_cluster_url)
    assert cluster.ping()
    assert cluster.cluster_info()["cluster_state"] == "ok"
    assert len(cluster.get_primaries()) == 3
    keys = [f"key-{i}" for i in range(30)]
    for key in keys:
        cluster.set(key, key)
    assert [cluster.get(key) for key in keys] == [key.encode() for key in keys]
    assert len({cluster.get_node_from_key(key).name for key in keys}) == 3
    cluster.close()


def test_postgres_answers_as_the_postgres_user(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as connection:
        row = connection.execute("SELECT current_user, 1 + 1").fetchone()
    assert row == ("postgres", 2)


def test_servers_stop_when_the_block_ends() -> None:
    with redis_server() as url, kafka_broker() as broker:
        ports = [int(url.rsplit(":", 1)[1].split("/")[0]), int(broker.bootstrap.split(":")[1])]
        assert all(port_open(port) for port in ports)
    assert not any(port_open(port) for port in ports)


def test_a_missing_binary_names_what_to_install() -> None:
    with pytest.raises(MissingBinary, match="apt-get install nothing-here"):
        find_binary("streamrec-no-such-server", "apt-get install nothing-here")


def test_a_restartable_postgres_keeps_its_data_and_port(
    restartable_postgres_server: PostgresServer,
) -> None:
    server = restartable_postgres_server
    with psycopg.connect(server.url, autocommit=True) as connection:
        connection.execute("CREATE TABLE kept (n integer)")
        connection.execute("INSERT INTO kept VALUES (7)")
    port = int(server.url.rsplit(":", 1)[1].split("/")[0])
    server.stop()
    assert not server.running and not port_open(port)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(server.url, connect_timeout=2)
    server.start()
    assert server.running
    with psycopg.connect(server.url) as connection:
        assert connection.execute("SELECT n FROM kept").fetchall() == [(7,)]
