"""How well the truth reproduces itself from one run to the next: the recorded accuracy runs
of the frozen set (each LETI_HOME that bench/accuracy.py timed keeps its truth's rounds),
every candidate truth statistic computed on each run and compared between every pair of runs.

    python bench/truth_runs.py --home DIR [--home DIR ...] [--device host] [--name truth_runs]

Within one run, the even rounds against the odd rounds (bench/accuracy.py) say how noisy the
run was; across runs, minutes or hours apart, is what a score needs: a truth that a later run
reproduces. Homes holding the same run (copies) count once. Reads what was recorded; times
nothing. The statistic in use is :data:`leti.estimator.services.repeatability.TRUTH_STATISTIC`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from common import md_table, save


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", action="append", required=True, help="a LETI_HOME (repeatable)")
    ap.add_argument("--device", default="host", help="device id prefix (default: host)")
    ap.add_argument(
        "--name",
        default="truth_runs",
        help="results file name under bench/results (default: truth_runs); another name keeps "
        "an earlier comparison beside this one",
    )
    a = ap.parse_args()
    from leti.estimator.db import open_db
    from leti.estimator.services.repeatability import (
        STATISTICS,
        TRUTH_STATISTIC,
        across_runs,
        agreement,
    )

    runs: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for home in a.home:
        db = open_db(str(Path(home) / "leti.sqlite"))
        rows = [
            r for r in db.model_measurements(kind="user") if r["device_id"].startswith(a.device)
        ]
        db.engine.dispose()
        timed = {
            r["name"]: list(zip(r["stats"]["round_medians_ms"], r["stats"]["round_p10s_ms"],
                                strict=True))
            for r in rows
            if r["stats"] and len(r["stats"].get("round_medians_ms", [])) >= 2
            and len(r["stats"].get("round_p10s_ms", [])) == len(r["stats"]["round_medians_ms"])
        }  # fmt: skip
        if not timed:
            continue
        when = min(r["measured_at"] for r in rows)
        runs.setdefault(when, timed)  # a copied home holds the same run
    if len(runs) < 2:
        raise SystemExit("truth_runs: needs two distinct recorded runs (give more --home)")
    names = sorted(set.intersection(*(set(t) for t in runs.values())))
    series = [[t[n] for n in names] for t in runs.values()]
    stats, rows = {}, []
    for name in STATISTICS:
        across = across_runs(series, name)
        within = [agreement(s, name) for s in series]
        w5 = sum(w["within_5"] for w in within) / len(within)
        w10 = sum(w["within_10"] for w in within) / len(within)
        stats[name] = {"across_runs": across, "within_run_mean": {"within_5": w5, "within_10": w10}}
        rows.append([name, across["within_10"], across["within_5"], across["median_gap_pct"],
                     across["worst_gap_pct"], w10, w5,
                     "**in use**" if name == TRUTH_STATISTIC else ""])  # fmt: skip
    md = f"""
### The truth from run to run

{len(runs)} recorded runs of the frozen set (timed {", ".join(w[:16] for w in sorted(runs))} UTC), {len(names)} models,
{len(series) * (len(series) - 1) // 2} pairs of runs; each statistic from one run against the
same from another (share of models agreeing within ±10 % / ±5 % of their mean), beside the
same within one run (even rounds against odd, mean over the runs).

{md_table(["truth statistic", "across runs ±10 %", "across runs ±5 %", "median gap %", "worst gap %", "within a run ±10 %", "within a run ±5 %", ""], rows)}
"""
    save(a.name, {"runs": sorted(runs), "models": names, "by_statistic": stats}, md)


if __name__ == "__main__":
    main()
