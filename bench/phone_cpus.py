"""Phone CPUs by transfer from the host, models left out by family.

    python bench/phone_cpus.py --home DIR [--dataset ../shared/data/mobile-ml-benchmark]
                               [--name phone_cpus]

DIR holds a trained host estimator (bench/accuracy.py leaves one; its path is printed). The
mobile-ml-benchmark folder is imported there, then for every phone CPU profile of the float
models (``phone/<phone>/cpu-<cores>``) runs what ``leti evaluate --device <profile>`` runs:
each model predicted by the transfer (host per-node estimates scaled op class by op class,
plus its per-node, activation, per-GFLOP and patch-matrix terms) fitted without its family,
beside two baselines fitted on the same folds (the host's total times the median phone/host
ratio; FLOPs-proportional).
The truth's own spread is the dataset's: each model's run-to-run std / mean.

Data: Z. Li, M. Paolieri, L. Golubchik, "A Benchmark for ML Inference Latency on Mobile
Devices", EdgeSys '24 (github.com/qed-usc/mobile-ml-benchmark, commit 40ba833, MIT License).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from common import ROOT, md_table, save

TARGET_WITHIN_10 = 80.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", required=True, help="LETI_HOME with a trained host estimator")
    ap.add_argument("--dataset", default=str(ROOT.parent / "shared/data/mobile-ml-benchmark"))
    ap.add_argument(
        "--name", default="phone_cpus", help="results name (default: phone_cpus); another "
        "name keeps a transfer from another machine's host estimator beside this one"
    )  # fmt: skip
    a = ap.parse_args()
    os.environ["LETI_HOME"] = a.home
    from leti.estimator.db import open_db
    from leti.estimator.devices.published import CITATION
    from leti.estimator.services.evaluate import published_spread
    from leti.estimator.services.published import import_dataset
    from leti.estimator.services.transfer_train import (
        base_estimator,
        evaluate_transfer,
        transfer_rows,
    )

    db = open_db()
    print(import_dataset(db, Path(a.dataset)).summary(), file=sys.stderr)
    base = base_estimator(db)
    profiles = sorted(
        d for d in db.device_ids() if d.startswith("phone/") and "/cpu-" in d and "quant" not in d
    )
    rows, out = [], {"dataset": a.dataset, "citation": CITATION, "base": base.device_id}
    for device in profiles:
        data = transfer_rows(db, device, base)
        if len(set(data[3])) < 3:
            continue
        ev = evaluate_transfer(*data)
        spread = published_spread(db, device)
        ev["truth_spread_pct"] = spread
        out[device] = ev
        s = ev["scores"]
        le, hr, fp = s["leti"], s["host-total-x-median-ratio"], s["flops-proportional"]
        rows.append([
            device, len(ev["models"]), ev["families"], le["within_10"], le["within_5"],
            le["mape"], le["spearman"], ev["coverage_90"], hr["within_10"], hr["mape"],
            fp["within_10"], fp["mape"], ev["truth_spread_pct"],
        ])  # fmt: skip
        print(f"{device}: ±10 % {le['within_10']:.0f}%, MAPE {le['mape']:.1f}%", file=sys.stderr)
    met = sum(r[3] >= TARGET_WITHIN_10 for r in rows)
    md = f"""
### Phone CPUs by transfer from the host (published measurements, models left out by family)

Host estimator: `{base.device_id}` (trained {base.metadata.get("trained_at")}). Each phone CPU
profile of the float models; every model predicted by the transfer fitted without its family.
Target ≥ {TARGET_WITHIN_10:.0f} % within ±10 %: met on {met} of {len(rows)} profiles.

{md_table(["profile", "models", "families", "±10 %", "±5 %", "MAPE %", "ρ", "90 % interval covers", "host × ratio: ±10 %", "its MAPE %", "FLOPs-prop.: ±10 %", "its MAPE %", "truth: std/mean, median %"], rows)}

Data: {CITATION}
"""
    save(a.name, out, md)


if __name__ == "__main__":
    main()
