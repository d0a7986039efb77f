"""Shared helpers for the benchmark scripts: machine facts and result files."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SHARED_MODELS = ROOT.parent / "shared" / "models"


def _script() -> str:
    """The script as run from the repository root, wherever it was started from."""
    path = Path(sys.argv[0]).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else sys.argv[0]


def machine() -> dict[str, Any]:
    from leti.estimator.devices.host import cpu_model

    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join([Path(sys.executable).name, _script(), *sys.argv[1:]]),
    }


def save(name: str, data: dict[str, Any], markdown: str) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = {"machine": machine(), **data}
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=1, default=float))
    header = (
        f"_Machine: {data['machine']['cpu']}, {data['machine']['cores']} cores; "
        f"{data['machine']['date']}; `{data['machine']['command']}`_\n\n"
    )
    path = RESULTS / f"{name}.md"
    path.write_text(header + markdown.strip() + "\n")
    print(path.read_text())
    return path


def md_table(headers: list[str], rows: list[list[Any]]) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.3g}" if abs(v) < 10 else f"{v:.1f}"
        return "–" if v is None else str(v)

    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def alternate(
    protocols: dict[str, Callable[[], Any]], times: int = 2
) -> tuple[dict[str, list[Any]], dict[str, list[float]]]:
    """Run each protocol ``times`` times, the protocols taking turns (so that a slow spell of
    the machine does not fall on one protocol only): each one's results and seconds."""
    import time

    results: dict[str, list[Any]] = {p: [] for p in protocols}
    seconds: dict[str, list[float]] = {p: [] for p in protocols}
    for _ in range(times):
        for name, fn in protocols.items():
            t0 = time.perf_counter()
            results[name].append(fn())
            seconds[name].append(time.perf_counter() - t0)
            print(f"{name}: {seconds[name][-1]:.1f} s", file=sys.stderr, flush=True)
    return results, seconds
