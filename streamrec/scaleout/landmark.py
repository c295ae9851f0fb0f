"""``streamrec rebase``: move the decay landmark of a Redis state (processors stopped).

See :mod:`streamrec.state.redis.rebase` for why and when.
"""

from __future__ import annotations

import argparse
from typing import Any

from streamrec.config import load_settings


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
    """Rescale every stored decayed value to the new landmark."""
    from streamrec.state.redis import RedisState
    from streamrec.state.redis.rebase import rebase

    state = RedisState.connect(load_settings(args.config, state={"url": args.state}))
    try:
        landmark = args.landmark if args.landmark is not None else state.clock()[1]
        print(f"rescaled {rebase(state, landmark)} keys; landmark is now {landmark}")
    finally:
        state.close()
    return 0
