"""How long each suite takes to build on the host: one measured figure per suite, written by
``bench/build.py``, is what the CLI's help, the viewer's banner and settings page quote."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

_FILE = Path(__file__).with_name("suite_times.json")


@cache
def measured() -> dict[str, float]:
    try:
        return dict(json.loads(_FILE.read_text())["seconds"])
    except (OSError, ValueError, KeyError):
        return {}


def quoted(suite: str) -> str:
    """'about 15 s', 'about 7 min', or 'not measured yet'."""
    s = measured().get(suite)
    if s is None:
        return "not measured yet"
    if s < 90:
        return f"about {max(5, round(s / 5) * 5):.0f} s"
    if s < 5400:
        return f"about {round(s / 60):.0f} min"
    return f"about {s / 3600:.1f} h"
