"""The ``leti-view`` command (the viewer arrives with the viewer issue)."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    print("leti-view: the viewer is not built yet; use 'leti inspect MODEL'", file=sys.stderr)
    return 2
