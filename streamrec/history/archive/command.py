"""``streamrec archive --log kafka://… --history postgresql://…``: the archiver's process.

The Kafka and PostgreSQL adapters are imported only once the URLs are checked, so
the command line works without their extras (and names the extra when it runs).
"""

from __future__ import annotations

import argparse
import signal
import threading
from types import FrameType
from typing import Any

from streamrec.adapters import adapter_class, scheme_of
from streamrec.config import Settings, load_settings
from streamrec.errors import ConfigError
from streamrec.history.archive.archiver import ARCHIVE_GROUP, HistoryArchiver
from streamrec.history.base import History

#: What the archiver is given on the command line.
URL_HELP = "--log kafka://host:port/topic --history postgresql://user@host:port/database"


def require_archive_urls(settings: Settings) -> None:
    """Check that ``settings`` name a Kafka log and a PostgreSQL history.

    Raises
    ------
    ConfigError
        For another scheme (the message names both flags).
    """
    problems = []
    if scheme_of(settings.log.url) != "kafka":
        problems.append(f"the log URL {settings.log.url!r} is not kafka://…")
    if scheme_of(settings.history.url) not in ("postgresql", "postgres"):
        problems.append(f"the history URL {settings.history.url!r} is not postgresql://…")
    if problems:
        raise ConfigError(f"streamrec archive needs {URL_HELP}: {'; '.join(problems)}")


def run_archiver(settings: Settings, stop: threading.Event, group: str = ARCHIVE_GROUP) -> None:
    """Archive ``settings.log.url`` into ``settings.history.url`` until ``stop`` is set.

    Raises
    ------
    ConfigError
        Unless the log is ``kafka://…`` and the history ``postgresql://…``, for a
        malformed URL, a missing install extra, or a history schema not migrated.
    BackendUnavailable
        If Kafka or PostgreSQL cannot be reached at start.
    """
    require_archive_urls(settings)
    log_class = adapter_class("log", settings.log.url)
    history_class = adapter_class("history", settings.history.url)

    def connect() -> History:
        history: History = history_class.connect(settings.history.url)
        return history

    event_log = log_class.connect(settings.log.url)
    try:
        first = history_class.connect(settings.history.url)
        try:
            first.require_current_schema()
        finally:
            first.close()
        archiver = HistoryArchiver(event_log, connect, settings.archive, group)
        try:
            archiver.run(stop)
        finally:
            archiver.close()
    finally:
        event_log.close()


def add_archive_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``archive`` to an ``argparse`` sub-parsers object and return its parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "archive", help="run the history archiver (Kafka consumer group -> PostgreSQL)"
    )
    parser.add_argument("--log", required=True, help="kafka://host:port/topic")
    parser.add_argument("--history", required=True, help="postgresql://user@host:port/database")
    parser.add_argument("--config", help="TOML settings file")
    parser.add_argument("--group", default=ARCHIVE_GROUP, help="consumer group")
    parser.set_defaults(handler=archive_command)
    return parser


def archive_command(args: argparse.Namespace) -> int:
    """Run an archiver until SIGINT/SIGTERM; leave the group cleanly."""
    settings = load_settings(args.config, log={"url": args.log}, history={"url": args.history})
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    run_archiver(settings, stop, args.group)
    return 0
