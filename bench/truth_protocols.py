"""Which way of timing the truth reproduces itself best on this machine: the frozen evaluation
set timed by each candidate protocol, the protocols alternating, each run twice.

- **adaptive rounds** (``leti evaluate`` until 2026-12-07): ``--rounds`` rounds (8), each a
  fresh interpreter per model and one adaptive burst (runs until the median is stable,
  0.1-1.5 s);
- **interleaved rounds**: every model opened once and kept open, then ``--short-rounds`` (24)
  rounds of one short burst each (``services.measure.measure_interleaved``, the build's burst).

For each protocol and each candidate statistic (services.repeatability.STATISTICS): within a
run, its even rounds against its odd rounds; across runs, run 1 against run 2 (the figure a
score needs: a truth a later run reproduces); and seconds per run. Nothing is predicted.

    python bench/truth_protocols.py [--rounds 8] [--short-rounds 24] [--name truth_protocols]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_MODELS, alternate, md_table, save  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=8, help="adaptive rounds (today's truth)")
    ap.add_argument("--short-rounds", type=int, default=24, help="interleaved short rounds")
    ap.add_argument("--models-dir", default=str(Path(__file__).parent / "models"))
    ap.add_argument("--name", default="truth_protocols")
    a = ap.parse_args()

    from leti.estimator.devices.host import HostDevice
    from leti.estimator.services.measure import measure_interleaved, measure_rounds
    from leti.estimator.services.repeatability import (
        STATISTICS,
        TRUTH_STATISTIC,
        across_runs,
        agreement,
    )
    from reference_models import build_all

    paths = sorted(SHARED_MODELS.glob("*.tflite")) if SHARED_MODELS.is_dir() else []
    paths += build_all(Path(a.models_dir))
    models = {p.name: p.read_bytes() for p in paths}
    device = HostDevice()

    def adaptive() -> list[list[tuple[float, float]]]:
        got = measure_rounds(device, models, a.rounds)
        return [list(zip(t.extra["round_medians_ms"], t.extra["round_p10s_ms"], strict=True))
                for t in got.values()]  # fmt: skip

    def interleaved() -> list[list[tuple[float, float]]]:
        out = []
        for t in measure_interleaved(device, list(models.values()), rounds=a.short_rounds):
            if isinstance(t, Exception):
                raise SystemExit(f"a frozen model failed: {t}")
            out.append(list(zip(t.extra["round_medians_ms"], t.extra["round_p10s_ms"],
                                strict=True)))  # fmt: skip
        return out

    protocols = {f"adaptive, {a.rounds} rounds": adaptive,
                 f"interleaved, {a.short_rounds} short rounds": interleaved}  # fmt: skip
    runs, seconds = alternate(protocols)

    rows, out = [], {}
    for name, (first, second) in runs.items():
        out[name] = {"seconds": seconds[name], "statistics": {}}
        for stat in STATISTICS:
            within = [agreement(r, stat) for r in (first, second)]
            across = across_runs([first, second], stat)
            out[name]["statistics"][stat] = {"within_run": within, "across_runs": across}
            rows.append([name, stat + (" (in use)" if stat == TRUTH_STATISTIC else ""),
                         sum(w["within_10"] for w in within) / 2,
                         sum(w["within_5"] for w in within) / 2,
                         across["within_10"], across["within_5"], across["median_gap_pct"],
                         sum(seconds[name]) / 2])  # fmt: skip
    md = f"""
### Timing the truth: adaptive rounds against interleaved short rounds

The frozen evaluation set ({len(models)} models), each protocol run twice, alternating. Within
a run: each statistic from the even rounds against the same from the odd rounds (mean of the
two runs' shares); across runs: run 1 against run 2. Share of models agreeing within ±10 % and
±5 %.

{md_table(["protocol", "statistic", "within a run ±10 %", "±5 %", "across runs ±10 %",
           "±5 %", "across runs median gap %", "s per run"], rows)}
"""  # fmt: skip
    save(a.name, {"models": list(models), "results": out, "runs": runs}, md)


if __name__ == "__main__":
    main()
