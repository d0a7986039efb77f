"""The ``leti`` command: one subcommand per job along the data flow.

Every user-fixable problem is a LetiError, printed on one line with exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__, db_cmds, device_cmds, estimate_cmds, inspect_cmd
from .errors import LetiError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leti",
        description="Measure TFLite operators on devices, train latency estimators, and "
        "predict a model's latency node by node.",
    )
    parser.add_argument("--version", action="version", version=f"leti-view {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    inspect_cmd.add_parser(sub)
    device_cmds.add_parsers(sub)
    db_cmds.add_parsers(sub)
    estimate_cmds.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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


if __name__ == "__main__":
    sys.exit(main())
