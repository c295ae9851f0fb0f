"""The ``streamrec`` command line.

serve | ingest | demo | train | migrate | evaluate | bench | process | rebase | archive

Building the parser imports no optional dependency: each command imports what it
needs when it runs, and a missing install extra ends it with exit code 2 and the
``pip install 'streamrec[…]'`` hint.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import uvicorn

from streamrec.bench.cli import add_bench_parser
from streamrec.bootstrap import TRAINERS, open_history, serving_engine, train
from streamrec.bootstrap.roles import require_scaleout
from streamrec.config import Settings, load_settings
from streamrec.demo import run_demo
from streamrec.errors import ConfigError, StreamrecError
from streamrec.evaluation.cli import add_evaluate_parser
from streamrec.extras import import_extra
from streamrec.ingest import ingest_into_engine, ingest_over_http
from streamrec.scaleout.commands import add_archive_parser, add_process_parser, add_rebase_parser
from streamrec.serving.app import create_app

#: Commands that live with their own package: each adds its parser to the subparsers.
PLUGGED_COMMANDS: tuple[Callable[[Any], argparse.ArgumentParser], ...] = (
    add_evaluate_parser,
    add_bench_parser,
    add_process_parser,
    add_rebase_parser,
    add_archive_parser,
)


def settings_of(args: argparse.Namespace) -> Settings:
    """The settings tree: the ``--config`` file and environment, then the flags."""
    overrides: dict[str, Any] = {}
    if getattr(args, "data_dir", None) is not None:
        overrides["data_dir"] = args.data_dir
    for component in ("log", "state", "history"):
        url = getattr(args, component, None)
        if url is not None:
            overrides[component] = {"url": url}
    serving = {
        name: getattr(args, name)
        for name in ("host", "port")
        if getattr(args, name, None) is not None
    }
    if serving:
        overrides["serving"] = serving
    return load_settings(args.config, **overrides)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="TOML settings file")
    parser.add_argument("--data-dir", type=Path, help="where the log, state and models live")
    parser.add_argument("--log", help="event log URL (default: embedded)")
    parser.add_argument("--state", help="online state URL (default: memory)")
    parser.add_argument("--history", help="history URL (default: embedded)")


def _non_negative(kind: Callable[[str], float]) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = kind(text)
        if value < 0:
            raise argparse.ArgumentTypeError(f"{text} is negative")
        return value

    return parse


def _serve_settings(args: argparse.Namespace) -> Settings:
    """The settings with the ``serve`` retrain options applied over them."""
    settings = settings_of(args)
    schedule = {
        "retrain_every_events": 0 if args.no_retrain else args.retrain_every_events,
        "retrain_every_s": 0 if args.no_retrain else args.retrain_every_s,
    }
    chosen = {name: value for name, value in schedule.items() if value is not None}
    if not chosen:
        return settings
    models = settings.models.model_copy(update=chosen)
    return settings.model_copy(update={"models": models})


def _check_exposure(settings: Settings, insecure: bool) -> None:
    """Refuse to serve an open API (no ``auth.keys``) beyond this machine, unless
    ``--insecure``."""
    host = settings.serving.host
    if settings.auth.enabled or insecure or is_loopback(host):
        return
    raise ConfigError(
        f"refusing to serve on {host} without API keys: anyone who reaches it could write "
        "events and read every profile. Set auth.keys (or STREAMREC_AUTH__KEYS), serve on "
        "127.0.0.1, or pass --insecure to serve an open API anyway."
    )


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (or ``localhost``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the HTTP API until interrupted (embedded, or an API replica for a remote
    state; URLs are checked before the server starts)."""
    settings = _serve_settings(args)
    _check_exposure(settings, args.insecure)
    if settings.state.url != "memory":
        require_scaleout(settings)
    app = create_app(settings, engine_factory=serving_engine)
    uvicorn.run(
        app,
        host=settings.serving.host,
        port=settings.serving.port,
        log_level="info",
        access_log=args.access_log,
    )
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    """Load a file of events into a server (``--url``) or a data directory."""
    if args.url:
        total = ingest_over_http(
            args.path, args.url, args.format, args.chunk_size, not args.quiet, args.api_key
        )
    else:
        total = ingest_into_engine(
            args.path, settings_of(args), args.format, args.chunk_size, not args.quiet
        )
    print(f"ingested {total:,} events")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """Train the batch models from history and publish them (a server picks them up)."""
    version = train(settings_of(args), trainer=args.trainer)
    print(f"published models version {version}")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    """Create or upgrade the schema of a PostgreSQL history."""
    postgres = import_extra("streamrec.history.postgres", "postgres", "streamrec migrate")
    history = open_history(settings_of(args))
    try:
        if not isinstance(history, postgres.PostgresHistory):
            raise ConfigError("migrate applies to a PostgreSQL history (--history postgresql://…)")
        history.migrate()
        print(f"history schema at version {history.schema_version()}")
    finally:
        history.close()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Start an engine and stream synthetic shopping sessions into it, live."""
    run_demo(
        settings_of(args),
        args.events_per_second,
        args.duration,
        args.users_to_watch,
        open_browser=not args.no_browser,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="streamrec", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP API (embedded by default)")
    _add_common(serve)
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--access-log", action="store_true", help="log every request")
    serve.add_argument(
        "--insecure",
        action="store_true",
        help="serve on a non-loopback host without API keys (an open API)",
    )
    serve.add_argument(
        "--retrain-every-events",
        type=_non_negative(int),
        metavar="N",
        help="retrain after N applied events (0: never by count)",
    )
    serve.add_argument(
        "--retrain-every-s",
        type=_non_negative(float),
        metavar="S",
        help="retrain after S seconds with new events (0: never by time)",
    )
    serve.add_argument(
        "--no-retrain", action="store_true", help="no scheduled retraining (streamrec train only)"
    )
    serve.set_defaults(handler=cmd_serve)

    ingest = commands.add_parser("ingest", help="load events from a file")
    _add_common(ingest)
    ingest.add_argument("path", type=Path)
    ingest.add_argument(
        "--format", default="auto", choices=["auto", "movielens", "csv", "jsonl", "amazon"]
    )
    ingest.add_argument("--url", help="a running server, e.g. http://127.0.0.1:8000")
    ingest.add_argument(
        "--api-key",
        default=os.environ.get("STREAMREC_API_KEY"),
        help="the server's API key with the write scope (default: $STREAMREC_API_KEY)",
    )
    ingest.add_argument("--chunk-size", type=int, default=5_000)
    ingest.add_argument("--quiet", action="store_true", help="no progress bar")
    ingest.set_defaults(handler=cmd_ingest)

    trainer = commands.add_parser("train", help="train and publish the batch models")
    _add_common(trainer)
    trainer.add_argument(
        "--trainer",
        default="implicit",
        choices=TRAINERS,
        help="implicit in this process, or ALS on Spark (models.spark.master)",
    )
    trainer.set_defaults(handler=cmd_train)

    migrate = commands.add_parser("migrate", help="create/upgrade a PostgreSQL history schema")
    _add_common(migrate)
    migrate.set_defaults(handler=cmd_migrate)

    demo = commands.add_parser("demo", help="watch recommendations change on a synthetic shop")
    _add_common(demo)
    demo.add_argument("--host")
    demo.add_argument("--port", type=int)
    demo.add_argument("--events-per-second", type=float, default=200.0)
    demo.add_argument("--duration", type=float, default=60.0, help="seconds (0 = until Ctrl-C)")
    demo.add_argument("--users-to-watch", type=int, default=3)
    demo.add_argument(
        "--no-browser", action="store_true", help="do not open the storefront in a browser"
    )
    demo.set_defaults(handler=cmd_demo)

    for add in PLUGGED_COMMANDS:
        add(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``streamrec`` command."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        return int(args.handler(args))
    except StreamrecError as exc:
        print(f"streamrec: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
