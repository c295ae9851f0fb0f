"""The scale-out commands: ``streamrec process``, ``streamrec archive`` and
``streamrec rebase``.

Building their parsers imports nothing of the ``kafka`` or ``redis`` extras; a
command whose extra is missing exits 2 with the install hint.
"""

from __future__ import annotations

import argparse
import signal
import threading
from types import FrameType
from typing import Any

from streamrec.bootstrap import open_state, run_archiver, run_processor
from streamrec.config import load_settings
from streamrec.extras import import_extra
from streamrec.history.archive import ARCHIVE_GROUP
from streamrec.processing.runner import STATE_GROUP


def add_process_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``process`` to an ``argparse`` sub-parsers object and return its parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "process", help="run a scale-out processor (Kafka consumer group -> Redis)"
    )
    parser.add_argument("--log", required=True, help="kafka://host:port/topic")
    parser.add_argument("--state", required=True, help="redis://host:port/db[?cluster=true]")
    parser.add_argument("--config", help="TOML settings file")
    parser.add_argument("--group", default=STATE_GROUP, help="consumer group")
    parser.add_argument("--max-batch", type=int, help="events per micro-batch")
    _add_metrics_flags(parser)
    parser.set_defaults(handler=process_command)
    return parser


def _add_metrics_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--metrics-port",
        type=int,
        help="serve Prometheus metrics on this port (default: metrics.port, off)",
    )
    parser.add_argument(
        "--metrics-host", help="address of the metrics endpoint (default: metrics.host)"
    )


def _metrics_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The ``metrics`` settings the flags give (none when no flag is given)."""
    chosen = {
        name: value
        for name, value in (("port", args.metrics_port), ("host", args.metrics_host))
        if value is not None
    }
    return {"metrics": chosen} if chosen else {}


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT (a role's run loop stops on it)."""
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    return stop


def process_command(args: argparse.Namespace) -> int:
    """Run a worker until SIGINT/SIGTERM; leave the group cleanly."""
    overrides: dict[str, Any] = {"log": {"url": args.log}, "state": {"url": args.state}}
    if args.max_batch is not None:
        overrides["processor"] = {"max_batch": args.max_batch}
    settings = load_settings(args.config, **overrides, **_metrics_overrides(args))
    run_processor(settings, stop_on_signals(), args.group)
    return 0


def add_archive_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``archive`` to an ``argparse`` sub-parsers object and return its parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "archive", help="run the history archiver (Kafka consumer group -> PostgreSQL)"
    )
    parser.add_argument("--log", required=True, help="kafka://host:port/topic")
    parser.add_argument("--history", required=True, help="postgresql://user@host:port/database")
    parser.add_argument("--config", help="TOML settings file")
    parser.add_argument("--group", default=ARCHIVE_GROUP, help="consumer group")
    _add_metrics_flags(parser)
    parser.set_defaults(handler=archive_command)
    return parser


def archive_command(args: argparse.Namespace) -> int:
    """Run an archiver until SIGINT/SIGTERM; leave the group cleanly."""
    urls = {"log": {"url": args.log}, "history": {"url": args.history}}
    settings = load_settings(args.config, **urls, **_metrics_overrides(args))
    run_archiver(settings, stop_on_signals(), args.group)
    return 0


def add_rebase_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``rebase`` to an ``argparse`` sub-parsers object and return its parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "rebase", help="move the decay landmark of a Redis state (processors stopped)"
    )
    parser.add_argument("--state", required=True, help="redis://host:port/db[?cluster=true]")
    parser.add_argument("--config", help="TOML settings file")
    parser.add_argument("--landmark", type=int, help="epoch ms (default: the latest event)")
    parser.set_defaults(handler=rebase_command)
    return parser


def rebase_command(args: argparse.Namespace) -> int:
    """Rescale every stored decayed value to the new landmark (see
    :mod:`streamrec.state.redis.rebase` for why and when)."""
    rebasing = import_extra("streamrec.state.redis.rebase", "redis", "streamrec rebase")
    state = open_state(load_settings(args.config, state={"url": args.state}))
    try:
        touched, landmark = rebasing.rebase_state(state, args.landmark)
        print(f"rescaled {touched} keys; landmark is now {landmark}")
    finally:
        state.close()
    return 0
