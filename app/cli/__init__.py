"""The ``videoclf`` command line (also ``python -m app``): one module per sub-command."""
from __future__ import annotations

import argparse
import logging
import sys

from app.cli import classify, evaluate, explain, extract, inspect, predict, train, worker

COMMANDS = [classify, predict, explain, extract, inspect, train, evaluate, worker]


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="videoclf", description="Video classification: classify, predict "
                                     "(batch), extract, inspect, train and evaluate.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print("videoclf: interrupted", file=sys.stderr)
        return 130
