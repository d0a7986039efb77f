"""Several trained homes scored against one truth, and how far their estimates of the same
models move from one build to another.

    python bench/compare_builds.py --truth bench/results/NAME.json --home LABEL=DIR ...
                                   [--name compare_builds]

``--truth`` is a bench/accuracy.py result (its frozen models and their measured truth, with
the truth's own repeatability); each ``--home`` a LETI_HOME whose host estimator predicts
those same models now. Builds made by one protocol on one machine differ only by the
machine's noise while they were timed, so the spread of their estimates of a model is how
much that noise moves an estimate; scored against one truth they can be compared fairly.
Reads what is stored; times nothing.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
from pathlib import Path
from statistics import median

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import md_table, save  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--truth", required=True, help="a bench/accuracy.py results JSON")
    ap.add_argument("--home", action="append", required=True, help="LABEL=LETI_HOME (repeat)")
    ap.add_argument("--device", default="host")
    ap.add_argument("--name", default="compare_builds")
    a = ap.parse_args()
    truth_run = json.loads(Path(a.truth).read_text())
    models = truth_run["evaluation"]["models"]
    measured = np.array([m["measured_ms"] for m in models])

    from leti.estimator.db import open_db
    from leti.estimator.devices import DeviceSpec
    from leti.estimator.learn.metrics import scores
    from leti.estimator.services import drift
    from leti.estimator.services.estimate import load_estimator

    normalised = [m.get("measured_normalised_ms") for m in models]
    truth_base = truth_run["train_report"].get("reference_ms") or {}
    predicted: dict[str, np.ndarray] = {}
    scale: dict[str, float | None] = {}
    for label, home in (h.split("=", 1) for h in a.home):
        os.environ["LETI_HOME"] = home
        spec = DeviceSpec.parse(a.device)
        est = load_estimator(spec)
        predicted[label] = np.array([est.predict(m["model"]).total_ms for m in models])
        db = open_db()
        base = drift.baseline(db.measurements(est.device_id, reference=True))
        common = [n for n in base if truth_base.get(n)]
        # the truth's drift-removed timings are in the truth home's calibration state; this
        # home's state differs from it by the ratio of the two homes' reference timings
        scale[label] = median(base[n] / truth_base[n] for n in common) if common else None
    rows, out = [], {"truth": a.truth, "homes": dict(h.split("=", 1) for h in a.home)}
    for label, p in predicted.items():
        s = scores(list(measured), list(p))
        row = [label, s["mape"], s["within_5"], s["within_10"], s["spearman"]]
        n = None
        if scale[label] is not None and all(v is not None for v in normalised):
            n = scores([v * scale[label] for v in normalised], list(p))
            row += [scale[label], n["mape"], n["within_5"], n["within_10"]]
        else:
            row += [None] * 4
        out[label] = {"raw": s, "drift_removed": n, "state_vs_truth_home": scale[label]}
        rows.append(row)
    pairs = []
    for x, y in itertools.combinations(predicted, 2):
        gap = np.abs(np.log(predicted[x] / predicted[y])) * 100
        pairs.append([f"{x} / {y}", float(np.median(gap)), float(gap.max()),
                      float(np.mean(gap <= 5) * 100)])  # fmt: skip
    out["pairs"] = pairs
    names = [Path(m["model"]).name for m in models]
    errors = {label: (p / measured - 1) * 100 for label, p in predicted.items()}
    out["error_pct"] = {label: dict(zip(names, map(float, e), strict=True))
                        for label, e in errors.items()}  # fmt: skip
    per_model = [[n, measured[i], *(errors[label][i] for label in predicted)]
                 for i, n in enumerate(names)]  # fmt: skip
    rep = truth_run.get("truth", {}).get("repeatability") or {}
    md = f"""
### Builds scored against one truth (`{Path(a.truth).name}`, {len(models)} frozen models)

The truth's own repeatability in that run (even rounds against odd): within ±10 % for
{rep.get("within_10", "?")} % of the models, within ±5 % for {rep.get("within_5", "?")} %.

Drift removed: the truth divided by its rounds' least drift factor (bench/accuracy.py), taken
to each home's own calibration state by the ratio of its reference timings to the truth
home's ("state"; none where the two homes' reference sets were timed differently).

{
        md_table(
            [
                "home",
                "MAPE %",
                "within ±5 %",
                "within ±10 %",
                "Spearman ρ",
                "state",
                "drift removed: MAPE %",
                "±5 %",
                "±10 %",
            ],
            rows,
        )
    }

How far two homes' estimates of the same model lie apart (|log ratio|, %):

{md_table(["homes", "median gap %", "worst gap %", "models within 5 %"], pairs)}

Each model's error (estimate against the truth, %):

{md_table(["model", "truth ms", *predicted], per_model)}
"""
    save(a.name, out, md)


if __name__ == "__main__":
    main()
