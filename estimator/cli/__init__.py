"""The ``leti`` command: one subcommand per job along the data flow.

Every user-fixable problem is a LetiError, printed on one line with exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import LetiError
from ..logs import set_verbose
from . import db, devices, inspect, model


class CommandParser(argparse.ArgumentParser):
    """A subcommand's parser: an argument it does not know is its own usage error (``leti
    inspect m.tflite --device gpu`` prints inspect's usage, not the top-level one)."""

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]
        ns, extra = super().parse_known_args(args, namespace)
        if extra:
            self.error(f"unrecognized arguments: {' '.join(extra)}")
        return ns, extra


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leti",
        description="Measure TFLite operators on devices, train latency estimators, and "
        "predict a model's latency node by node.",
    )
    parser.add_argument("--version", action="version", version=f"leti-view {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="show the runtimes' own log lines"
    )
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=CommandParser
    )
    inspect.add_parser(sub)
    devices.add_parsers(sub)
    db.add_parsers(sub)
    model.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    set_verbose(args.verbose)
    try:
        return int(args.func(args) or 0)
    except LetiError as exc:
        print(f"leti: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("leti: interrupted; everything measured so far is saved", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
