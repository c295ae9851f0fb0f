"""``python -m streamrec.scaleout process|api …``: the scale-out process roles."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from streamrec.errors import StreamrecError
from streamrec.scaleout.api import add_api_parser
from streamrec.scaleout.worker import add_process_parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one scale-out role."""
    parser = argparse.ArgumentParser(prog="python -m streamrec.scaleout")
    roles = parser.add_subparsers(dest="role", required=True)
    add_process_parser(roles)
    add_api_parser(roles)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.handler(args))
    except StreamrecError as exc:
        print(f"streamrec: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
