"""The PostgreSQL History adapter: every event in one table, written with COPY.

URL: ``postgresql://user@host:port/database``. The schema is created and upgraded
only by :meth:`PostgresHistory.migrate` (exposed by the CLI), never on connect.

Logged events (those with a log partition and offset) are unique by
``(partition, offset)``, so writing the same log range twice stores it once; events
that never went through a log (offset ``-1``) are stored with a NULL position.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import orjson
import psycopg
from psycopg import errors as pg_errors
from psycopg.types.json import Jsonb

from streamrec.erasures import is_erasure
from streamrec.errors import BackendUnavailable, ConfigError, InvalidInput
from streamrec.events import ERASE_USER, EventBatch

_COLUMNS = (
    '"partition", "offset", user_id, item_id, type, value, ts, '
    "session_id, context, recommendation_id"
)

# Each entry upgrades the schema from version i to i + 1; append, never edit.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE events (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        "partition" integer,
        "offset" bigint,
        user_id text NOT NULL,
        item_id text NOT NULL,
        type smallint NOT NULL,
        value double precision,
        ts bigint NOT NULL,
        session_id text,
        context jsonb,
        recommendation_id text,
        UNIQUE ("partition", "offset")
    );
    CREATE INDEX events_time ON events (ts, "partition", "offset");
    """,
)

_COPY_TYPES = ("int4", "int8", "text", "text", "int2", "float8", "int8", "text", "jsonb", "text")
# Staging rows stay in memory up to this size (the default 8MB spills ~80k events).
_STAGING_BUFFERS = "128MB"
_SCHEMA_TABLE = "CREATE TABLE IF NOT EXISTS streamrec_schema (version integer NOT NULL)"
_MIGRATION_LOCK = 0x5EC0_0001


@contextmanager
def _driver_errors(doing: str) -> Iterator[None]:
    """Turn psycopg errors into streamrec errors."""
    try:
        yield
    except pg_errors.UndefinedTable as exc:
        raise ConfigError(
            f"the history schema is missing ({exc.diag.message_primary}); "
            "run the history migration first"
        ) from exc
    except psycopg.DataError as exc:
        raise InvalidInput(f"PostgreSQL cannot store these events: {exc}") from exc
    except psycopg.Error as exc:
        raise BackendUnavailable(f"PostgreSQL {doing} failed: {exc}") from exc


def _rows(batch: EventBatch) -> Iterator[tuple[Any, ...]]:
    logged = batch.offset >= 0
    partitions = batch.partition.tolist()
    offsets = batch.offset.tolist()
    values = batch.value.tolist()
    types = batch.type.tolist()
    stamps = batch.timestamp.tolist()
    for i in range(len(batch)):
        context = batch.context[i]
        yield (
            partitions[i] if logged[i] else None,
            offsets[i] if logged[i] else None,
            batch.user_id[i],
            batch.item_id[i],
            types[i],
            None if values[i] != values[i] else values[i],
            stamps[i],
            batch.session_id[i],
            None if context is None else Jsonb(context, dumps=_dumps),
            batch.recommendation_id[i],
        )


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _batch(rows: list[tuple[Any, ...]]) -> EventBatch:
    columns = list(zip(*rows, strict=True))
    partition, offset = columns[0], columns[1]
    return EventBatch.from_columns(
        {
            "partition": [0 if p is None else p for p in partition],
            "offset": [-1 if o is None else o for o in offset],
            "user_id": columns[2],
            "item_id": columns[3],
            "type": columns[4],
            "value": [np.nan if v is None else v for v in columns[5]],
            "timestamp": columns[6],
            "session_id": columns[7],
            "context": columns[8],
            "recommendation_id": columns[9],
        }
    )


class PostgresHistory:
    """A :class:`~streamrec.history.base.History` in a PostgreSQL database.

    Use :meth:`connect`, and :meth:`migrate` once per database before writing.
    """

    def __init__(self, url: str, connection: psycopg.Connection[tuple[Any, ...]]) -> None:
        self._url = url
        self._connection = connection
        self._staging_ready = False

    @classmethod
    def connect(cls, url: str, timeout_s: float = 10.0) -> PostgresHistory:
        """Connect to the database at ``url`` (nothing is created).

        Raises
        ------
        BackendUnavailable
            If the server does not answer or refuses the connection.
        """
        with _driver_errors("connect"):
            connection = psycopg.connect(url, autocommit=True, connect_timeout=int(timeout_s))
            connection.execute(f"SET temp_buffers = '{_STAGING_BUFFERS}'")
        return cls(url, connection)

    def schema_version(self) -> int:
        """The version the schema is at (0 for an empty database)."""
        with _driver_errors("schema query"):
            found = self._connection.execute(
                "SELECT to_regclass('streamrec_schema') IS NOT NULL"
            ).fetchone()
            if not found or not found[0]:
                return 0
            row = self._connection.execute("SELECT max(version) FROM streamrec_schema").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def require_current_schema(self) -> None:
        """Check that the schema is at the newest version.

        Raises
        ------
        ConfigError
            If it is older (or missing): run the history migration first.
        """
        version = self.schema_version()
        if version < len(MIGRATIONS):
            raise ConfigError(
                f"the history schema is at version {version}, not {len(MIGRATIONS)}; "
                "run the history migration first (streamrec migrate --history URL)"
            )

    def migrate(self) -> int:
        """Bring the schema to the newest version; safe to run concurrently.

        Returns
        -------
        int
            The schema version now in force.
        """
        with _driver_errors("migration"), self._connection.transaction():
            self._connection.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            self._connection.execute(_SCHEMA_TABLE)
            row = self._connection.execute("SELECT max(version) FROM streamrec_schema").fetchone()
            current = int(row[0]) if row and row[0] is not None else 0
            for version in range(current, len(MIGRATIONS)):
                self._connection.execute(MIGRATIONS[version])
                self._connection.execute(
                    "INSERT INTO streamrec_schema (version) VALUES (%s)", (version + 1,)
                )
        return len(MIGRATIONS)

    def write(self, batch: EventBatch) -> None:
        """COPY the events into a staging table, then insert the ones not yet stored;
        an erasure record deletes its subject's events logged before it, in the same
        transaction.

        Raises
        ------
        ConfigError
            If the schema was not migrated.
        InvalidInput
            If PostgreSQL rejects a value (text holding a NUL character).
        BackendUnavailable
            If the database fails.

        Nothing of the batch is stored when this raises.
        """
        if not len(batch):
            return
        erasures = is_erasure(batch)
        events = batch.take(np.flatnonzero(~erasures)) if erasures.any() else batch
        with _driver_errors("write"), self._connection.transaction():
            if len(events):
                self._insert(events)
            for row in np.flatnonzero(erasures).tolist():
                self._erase(batch, row)
        self._staging_ready = True  # only once a transaction creating it has committed

    def _erase(self, batch: EventBatch, row: int) -> None:
        """Delete the subject's events logged before the erasure record at ``row`` in
        its partition (and its unlogged ones)."""
        column = "user_id" if int(batch.type[row]) == ERASE_USER else "item_id"
        subject = batch.user_id[row] if column == "user_id" else batch.item_id[row]
        logged = int(batch.offset[row]) >= 0
        self._connection.execute(
            f"DELETE FROM events WHERE {column} = %s AND "
            '("partition" IS NULL OR ("partition" = %s AND "offset" < %s))',
            (
                subject,
                int(batch.partition[row]) if logged else -1,
                int(batch.offset[row]) if logged else -1,
            ),
        )

    def _insert(self, batch: EventBatch) -> None:
        """COPY ``batch`` into the staging table and insert the rows not yet stored."""
        if not self._staging_ready:
            self._connection.execute(
                "CREATE TEMP TABLE IF NOT EXISTS events_staging "
                '("partition" integer, "offset" bigint, user_id text, item_id text, '
                "type smallint, value double precision, ts bigint, session_id text, "
                "context jsonb, recommendation_id text) ON COMMIT DELETE ROWS"
            )
        with (
            self._connection.cursor() as cursor,
            cursor.copy(f"COPY events_staging ({_COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy,
        ):
            copy.set_types(_COPY_TYPES)
            for row in _rows(batch):
                copy.write_row(row)
        self._connection.execute(
            f"INSERT INTO events ({_COLUMNS}) SELECT {_COLUMNS} FROM events_staging "
            'ON CONFLICT ("partition", "offset") DO NOTHING'
        )

    def scan(
        self, since_ms: int | None = None, until_ms: int | None = None, chunk_size: int = 100_000
    ) -> Iterator[EventBatch]:
        """Events with ``since_ms <= timestamp < until_ms`` in (timestamp, partition,
        offset) order, in batches of up to ``chunk_size``, from a server-side cursor
        on a connection of its own (so writes may go on meanwhile).
        """
        since = -(2**63) if since_ms is None else since_ms
        until = 2**63 - 1 if until_ms is None else until_ms
        with _driver_errors("scan"):
            connection = psycopg.connect(self._url)
        try:
            with (
                _driver_errors("scan"),
                connection.cursor(name="streamrec_history_scan") as cursor,
            ):
                cursor.itersize = chunk_size
                cursor.execute(
                    f"SELECT {_COLUMNS} FROM events WHERE ts >= %s AND ts < %s "
                    'ORDER BY ts, "partition", "offset", id',
                    (since, until),
                )
                while rows := cursor.fetchmany(chunk_size):
                    yield _batch(rows)
        finally:
            connection.close()

    def count(self) -> int:
        """How many events are stored."""
        with _driver_errors("count"):
            row = self._connection.execute("SELECT count(*) FROM events").fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        """Close the connection."""
        self._connection.close()
