"""Plain-text tables for the terminal; the CLI's human-readable output goes through here."""

from __future__ import annotations

from collections.abc import Sequence


def render(
    headers: Sequence[str], rows: Sequence[Sequence[object]], right: set[int] | None = None
) -> str:
    """Align columns; numeric columns listed in ``right`` are right-aligned."""
    right = right or set()
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        parts = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(parts).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def shape_str(shape: Sequence[int]) -> str:
    return "x".join("?" if d < 0 else str(d) for d in shape) if shape else "scalar"
