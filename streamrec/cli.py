"""The ``streamrec`` command line: serve | ingest | demo | train | evaluate | bench | process |
rebase."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from streamrec.config import Settings, load_settings
from streamrec.errors import StreamrecError

#: Subcommands that live with their own package: (module, parser builder).
PLUGGED_COMMANDS: tuple[tuple[str, str], ...] = (
    ("streamrec.evaluation.cli", "add_evaluate_parser"),
    ("streamrec.bench.cli", "add_bench_parser"),
    ("streamrec.scaleout.worker", "add_process_parser"),
    ("streamrec.scaleout.landmark", "add_rebase_parser"),
    ("streamrec.history.archive", "add_archive_parser"),
)


def _settings(args: argparse.Namespace) -> Settings:
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
    base = load_settings(args.config)
    merged = base.model_dump()
    for key, value in overrides.items():
        if isinstance(value, dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return Settings(**merged)


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
    settings = _settings(args)
    schedule = {
        "retrain_every_events": 0 if args.no_retrain else args.retrain_every_events,
        "retrain_every_s": 0 if args.no_retrain else args.retrain_every_s,
    }
    chosen = {name: value for name, value in schedule.items() if value is not None}
    if not chosen:
        return settings
    models = settings.models.model_copy(update=chosen)
    return settings.model_copy(update={"models": models})


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the HTTP API until interrupted (retraining on the models' schedule)."""
    import uvicorn

    from streamrec.engine import engine_factory
    from streamrec.serving.app import create_app

    settings = _serve_settings(args)
    app = create_app(settings, engine_factory=engine_factory(settings))
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
    from streamrec.ingest import ingest_into_engine, ingest_over_http

    settings = _settings(args)
    if args.url:
        total = ingest_over_http(args.path, args.url, args.format, args.chunk_size, not args.quiet)
    else:
        total = ingest_into_engine(
            args.path, settings, args.format, args.chunk_size, not args.quiet
        )
    print(f"ingested {total:,} events")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """Train the batch models from history and publish them (a server picks them up)."""
    from streamrec.training import train_from_history

    version = train_from_history(_settings(args), trainer=args.trainer)
    print(f"published models version {version}")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    """Create or upgrade the schema of a PostgreSQL history."""
    from streamrec.history.postgres import PostgresHistory

    history = PostgresHistory.connect(_settings(args).history.url)
    try:
        history.migrate()
        print(f"history schema at version {history.schema_version()}")
    finally:
        history.close()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Start an engine and stream synthetic shopping sessions into it, live."""
    from streamrec.demo import run_demo

    run_demo(_settings(args), args.events_per_second, args.duration, args.users_to_watch)
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
    ingest.add_argument("--chunk-size", type=int, default=5_000)
    ingest.add_argument("--quiet", action="store_true", help="no progress bar")
    ingest.set_defaults(handler=cmd_ingest)

    train = commands.add_parser("train", help="train and publish the batch models")
    _add_common(train)
    train.add_argument(
        "--trainer",
        default="implicit",
        choices=["implicit", "spark"],
        help="implicit in this process, or ALS on Spark (models.spark.master)",
    )
    train.set_defaults(handler=cmd_train)

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
    demo.set_defaults(handler=cmd_demo)

    for module_name, builder in PLUGGED_COMMANDS:
        add: Callable[[Any], None] = getattr(importlib.import_module(module_name), builder)
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
