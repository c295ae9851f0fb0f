"""Adapters chosen by URL scheme, from one explicit table, imported lazily.

``embedded``/``memory`` are the defaults and need nothing installed; the others
need an install extra and fail at start-up with a hint naming it.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from streamrec.errors import ConfigError

#: component -> scheme -> (module, factory, install extra)
ADAPTERS: dict[str, dict[str, tuple[str, str, str | None]]] = {
    "log": {
        "embedded": ("streamrec.log.embedded", "EmbeddedEventLog", None),
        "kafka": ("streamrec.log.kafka", "KafkaEventLog", "kafka"),
    },
    "state": {
        "memory": ("streamrec.state.memory", "MemoryState", None),
        "redis": ("streamrec.state.redis", "RedisState", "redis"),
        "rediss": ("streamrec.state.redis", "RedisState", "redis"),
    },
    "history": {
        "embedded": ("streamrec.history.embedded", "EmbeddedHistory", None),
        "postgresql": ("streamrec.history.postgres", "PostgresHistory", "postgres"),
        "postgres": ("streamrec.history.postgres", "PostgresHistory", "postgres"),
    },
}


def scheme_of(url: str) -> str:
    """The scheme of an adapter URL (``embedded`` and ``memory`` stand alone)."""
    return urlsplit(url).scheme or url


def adapter_class(component: str, url: str) -> Any:
    """The adapter class serving ``url`` for ``component``.

    Raises
    ------
    ConfigError
        For an unknown scheme, or when the adapter's install extra is missing.
    """
    table = ADAPTERS[component]
    scheme = scheme_of(url)
    if scheme not in table:
        known = ", ".join(sorted(table))
        raise ConfigError(f"{component} URL {url!r}: unknown scheme {scheme!r} (known: {known})")
    module_name, factory, extra = table[scheme]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        hint = f"; install it with: pip install 'streamrec[{extra}]'" if extra else ""
        raise ConfigError(
            f"{component} adapter for {scheme!r} is unavailable ({exc}){hint}"
        ) from exc
    return getattr(module, factory)


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
