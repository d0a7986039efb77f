"""The documentation cannot drift from the code: the CLI reference is the parsers' own output,
the README stays a newcomer's page, and its test command is what CI runs."""

from __future__ import annotations

import re
import sys

from conftest import HERE

ROOT = HERE.parent
GENERATED_WITH = (3, 11)  # the Python whose argparse wrote docs/cli.md (its wording varies)


def test_the_cli_reference_is_the_parsers_own_help():
    from leti.estimator.cli.reference import render

    doc = (ROOT / "docs" / "cli.md").read_text()
    now = render()
    if sys.version_info[:2] == GENERATED_WITH:
        assert doc == now, (
            "docs/cli.md is stale: python -m leti.estimator.cli.reference > docs/cli.md"
        )
    else:  # another argparse words its help differently; every command and option must be there
        for line in now.splitlines():
            for flag in re.findall(r"(?<![\w-])--[a-z][a-z-]+", line):
                assert flag in doc, flag


def test_every_command_and_option_is_in_the_reference():
    from leti.estimator.cli import build_parser

    doc = (ROOT / "docs" / "cli.md").read_text()
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, p in sub.choices.items():
        assert f"### `leti {name}`" in doc or f"## `leti {name}`" in doc, name
        for action in p._actions:
            for flag in action.option_strings:
                assert flag in doc, (name, flag)


def test_the_readme_is_a_newcomers_page_with_the_ci_test_command():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    command = "python3 -m pip install -e '.[test]' && python3 -m pytest"
    assert command in readme and command in (ROOT / ".ci" / "run").read_text()
    for doc in ("docs/guide.md", "docs/cli.md", "docs/design.md", "docs/results.md"):
        assert f"({doc})" in readme and (ROOT / doc).exists(), doc
    assert "EdgeSys" in readme  # the phone figures cite their dataset
