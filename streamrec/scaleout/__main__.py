"""``python -m streamrec.scaleout process|api|rebase …``: the scale-out process roles."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from streamrec.config import load_settings
from streamrec.errors import StreamrecError
from streamrec.scaleout.api import add_api_parser
from streamrec.scaleout.worker import add_process_parser


def rebase_command(args: argparse.Namespace) -> int:
    """Move the decay landmark of a Redis state (processors stopped)."""
    from streamrec.state.redis import RedisState
    from streamrec.state.redis_rebase import rebase

    state = RedisState.connect(load_settings(args.config, state={"url": args.state}))
    landmark = args.landmark if args.landmark is not None else state.clock()[1]
    print(f"rescaled {rebase(state, landmark)} keys; landmark is now {landmark}")
    state.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run one scale-out role."""
    parser = argparse.ArgumentParser(prog="python -m streamrec.scaleout")
    roles = parser.add_subparsers(dest="role", required=True)
    add_process_parser(roles)
    add_api_parser(roles)
    rebase = roles.add_parser("rebase", help="move the decay landmark (processors stopped)")
    rebase.add_argument("--state", required=True, help="redis://host:port/db[?cluster=true]")
    rebase.add_argument("--config", help="TOML settings file")
    rebase.add_argument("--landmark", type=int, help="epoch ms (default: the latest event)")
    rebase.set_defaults(handler=rebase_command)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.handler(args))
    except StreamrecError as exc:
        print(f"streamrec: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
