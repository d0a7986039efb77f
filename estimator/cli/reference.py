"""The CLI reference, written from the argument parsers themselves: ``docs/cli.md`` is this
module's output, and a test fails when the file and the parsers disagree (as Datasette keeps
its ``docs/cli-reference.rst``).

    python -m leti.estimator.cli.reference > docs/cli.md
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator

HEADER = """# CLI reference

Generated from the commands' own argument parsers by `python -m leti.estimator.cli.reference
> docs/cli.md`; `tests/test_docs.py` fails when this file is stale. What the commands do, and
why, is in [the guide](guide.md).

Every `leti` command prints a problem the user can fix (a bad model file, no trained
estimator, a database or phone that cannot be reached) as one line on stderr and exits with
status 2.
"""


def _subcommands(
    parser: argparse.ArgumentParser, prefix: str
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield f"{prefix} {name}", sub
                yield from _subcommands(sub, f"{prefix} {name}")


def _help(parser: argparse.ArgumentParser) -> str:
    # a fixed width, so the text does not depend on the terminal it is written from
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"
    try:
        return parser.format_help().rstrip()
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old


def render() -> str:
    from leti.server.cli import build_parser as view_parser

    from . import build_parser

    parts = [HEADER]
    top = build_parser()
    parts.append(f"## `leti`\n\n```\n{_help(top)}\n```\n")
    for name, sub in _subcommands(top, "leti"):
        if any(isinstance(a, argparse._SubParsersAction) for a in sub._actions):
            parts.append(f"## `{name}`\n\n```\n{_help(sub)}\n```\n")
        else:
            parts.append(f"### `{name}`\n\n```\n{_help(sub)}\n```\n")
    parts.append(f"## `leti-view`\n\n```\n{_help(view_parser())}\n```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    print(render(), end="")
