"""``python -m streamrec.scaleout api``: one stateless API replica over Kafka + Redis."""

from __future__ import annotations

import argparse
from typing import Any

from streamrec.config import load_settings


def add_api_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``api`` to an ``argparse`` sub-parsers object and return its parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "api", help="run a stateless API replica (Kafka log, Redis state)"
    )
    parser.add_argument("--log", required=True, help="kafka://host:port/topic")
    parser.add_argument("--state", required=True, help="redis://host:port/db[?cluster=true]")
    parser.add_argument("--history", help="history URL (used by training)")
    parser.add_argument("--config", help="TOML settings file")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.set_defaults(handler=api_command)
    return parser


def api_command(args: argparse.Namespace) -> int:
    """Serve the HTTP API until interrupted."""
    import uvicorn

    from streamrec.scaleout.engine import build_scaleout_engine
    from streamrec.serving.app import create_app

    overrides: dict[str, Any] = {
        "log": {"url": args.log},
        "state": {"url": args.state},
        "serving": {"host": args.host, "port": args.port},
    }
    if args.history:
        overrides["history"] = {"url": args.history}
    settings = load_settings(args.config, **overrides)
    app = create_app(settings, engine_factory=build_scaleout_engine)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
