"""How long each suite takes to build on the host: one measured figure per suite, written by
``bench/build.py``, is what the CLI's help, the viewer's banner and settings page quote."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

_FILE = Path(__file__).with_name("suite_times.json")


@cache
def _recorded() -> dict:
    try:
        return dict(json.loads(_FILE.read_text()))
    except (OSError, ValueError):
        return {}


def measured() -> dict[str, float]:
    return dict(_recorded().get("seconds", {}))


def quoted(suite: str) -> str:
    """'about 15 s on AMD EPYC, 2 cores', 'about 7 min on ...', or 'not measured yet': a time
    means something only with the machine it was measured on (a 2-core Intel machine took
    8.9 min for a default build quoted as 6)."""
    s = measured().get(suite)
    if s is None:
        return "not measured yet"
    if s < 90:
        t = f"about {max(5, round(s / 5) * 5):.0f} s"
    elif s < 5400:
        t = f"about {round(s / 60):.0f} min"
    else:
        t = f"about {s / 3600:.1f} h"
    machine = _recorded().get("machine")
    return f"{t} on {machine}" if machine else t
