"""Adapters by URL scheme: one table, one factory signature per port.

Every log, state and history streamrec opens is built here, from its URL in the
settings (gorse's ``Open``): ``embedded``/``memory`` are the defaults and need
nothing installed; ``kafka://``, ``redis://``/``rediss://`` and ``postgresql://``
need an install extra, imported only when its adapter is opened, and a missing one
is a :class:`~streamrec.extras.MissingExtra` naming the extra.

Each factory takes the URL and the whole settings tree and hands its adapter only
its own section (and the data directory, for the embedded adapters).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar
from urllib.parse import urlsplit

from streamrec.config import Settings
from streamrec.errors import ConfigError, CorruptData
from streamrec.extras import import_extra
from streamrec.history.base import History
from streamrec.history.embedded import EmbeddedHistory
from streamrec.log.base import EventLog
from streamrec.log.embedded import EmbeddedEventLog
from streamrec.log.embedded.segments import list_segments
from streamrec.state.base import ServingState
from streamrec.state.memory import MemoryState
from streamrec.state.memory.snapshot import load_snapshot

PortT = TypeVar("PortT")
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AdapterTable(Generic[PortT]):
    """The adapters of one port: URL scheme -> factory ``(url, settings) -> port``."""

    port: str
    factories: dict[str, Callable[[str, Settings], PortT]]

    def open(self, url: str, settings: Settings) -> PortT:
        """The adapter for ``url``, opened (or connected) with ``settings``.

        Raises
        ------
        ConfigError
            For an unknown scheme (the message lists the known ones).
        MissingExtra
            When the adapter's install extra is missing.
        BackendUnavailable
            When a remote backend does not answer.
        """
        scheme = scheme_of(url)
        factory = self.factories.get(scheme)
        if factory is None:
            known = ", ".join(sorted(self.factories))
            raise ConfigError(
                f"{self.port} URL {url!r}: unknown scheme {scheme!r} (known: {known})"
            )
        return factory(url, settings)


def scheme_of(url: str) -> str:
    """The scheme of an adapter URL (``embedded`` and ``memory`` stand alone)."""
    return urlsplit(url).scheme or url


# -- where the embedded adapters keep their files ------------------------------


def log_directory(data_dir: Path) -> Path:
    """Where the embedded log lives under the data directory."""
    return data_dir / "log"


def snapshot_path(data_dir: Path) -> Path:
    """Where the memory state snapshot lives under the data directory."""
    return data_dir / "state" / "snapshot.npz"


def models_directory(data_dir: Path) -> Path:
    """Where the model store lives under the data directory."""
    return data_dir / "models"


def catalog_journal_path(data_dir: Path) -> Path:
    """Where catalog writes are journaled under the data directory."""
    return data_dir / "catalog" / "items.jsonl"


# -- factories ------------------------------------------------------------------


def _embedded_log(url: str, settings: Settings) -> EventLog:
    return EmbeddedEventLog.open(log_directory(settings.data_dir), settings.log)


def _kafka_log(url: str, settings: Settings) -> EventLog:
    kafka = import_extra("streamrec.log.kafka", "kafka", "the Kafka event log")
    log: EventLog = kafka.KafkaEventLog.connect(url)
    return log


def open_memory_state(settings: Settings) -> MemoryState:
    """The embedded state: restored from the data directory's snapshot, if any.

    A snapshot that fails to load is moved aside (``snapshot.npz.corrupt``) and the
    state starts empty, to be rebuilt by replaying the whole log, if the log still
    starts at offset 0 (retention may have deleted what only the snapshot held).

    Raises
    ------
    CorruptData
        If the snapshot is unreadable and the log no longer holds every event.
    """
    snapshot = snapshot_path(settings.data_dir)
    if not snapshot.exists():
        return MemoryState(settings)
    try:
        return load_snapshot(settings, snapshot)
    except CorruptData as exc:
        first = list_segments(log_directory(settings.data_dir))
        if scheme_of(settings.log.url) == "embedded" and first and first[0][0] > 0:
            raise CorruptData(
                f"{exc}; the log starts at offset {first[0][0]}, so it cannot be rebuilt"
            ) from exc
        aside = snapshot.with_name(snapshot.name + ".corrupt")
        os.replace(snapshot, aside)
        log.warning("%s; moved it to %s and rebuilding the state from the log", exc, aside)
        return MemoryState(settings)


def _memory_state(url: str, settings: Settings) -> ServingState:
    return open_memory_state(settings)


def _redis_state(url: str, settings: Settings) -> ServingState:
    redis = import_extra("streamrec.state.redis", "redis", "the Redis online state")
    state: ServingState = redis.RedisState.connect(settings, url, settings.state.timeout_s)
    return state


def _embedded_history(url: str, settings: Settings) -> History:
    return EmbeddedHistory(log_directory(settings.data_dir))


def _postgres_history(url: str, settings: Settings) -> History:
    postgres = import_extra("streamrec.history.postgres", "postgres", "the PostgreSQL history")
    history: History = postgres.PostgresHistory.connect(url)
    return history


LOGS: AdapterTable[EventLog] = AdapterTable("log", {"embedded": _embedded_log, "kafka": _kafka_log})
STATES: AdapterTable[ServingState] = AdapterTable(
    "state", {"memory": _memory_state, "redis": _redis_state, "rediss": _redis_state}
)
HISTORIES: AdapterTable[History] = AdapterTable(
    "history",
    {"embedded": _embedded_history, "postgresql": _postgres_history, "postgres": _postgres_history},
)


def open_log(settings: Settings) -> EventLog:
    """The event log of ``settings.log.url``."""
    return LOGS.open(settings.log.url, settings)


def open_state(settings: Settings) -> ServingState:
    """The online state of ``settings.state.url`` (a memory state from its snapshot)."""
    return STATES.open(settings.state.url, settings)


def open_history(settings: Settings) -> History:
    """The history of ``settings.history.url`` (embedded: the log's own files)."""
    return HISTORIES.open(settings.history.url, settings)
