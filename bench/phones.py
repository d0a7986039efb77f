"""Accuracy on the six published phones' GPUs, models left out by family.

    python bench/phones.py [--dataset ../shared/data/mobile-ml-benchmark] [--phones pixel4 s10]

Imports the mobile-ml-benchmark folder into a fresh database, then for each phone runs what
``leti evaluate --device phone/<phone>/gpu`` runs: leave one model family out (rules, kernel
regressors and the composition's form all learned without it), predict its models end to
end from their rebuilt .tflite graphs, and score against the published end-to-end means,
beside the two baselines fitted on the same folds. The truth's own spread is the dataset's:
each model's run-to-run std / mean of its end-to-end time.

Data: Z. Li, M. Paolieri, L. Golubchik, "A Benchmark for ML Inference Latency on Mobile
Devices", EdgeSys '24 (github.com/qed-usc/mobile-ml-benchmark, commit 40ba833, MIT License).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, md_table, save

PHONES = ["pixel4", "s10", "mi8se", "a03s", "iphone7", "iphonexs"]
TARGETS = {"android": (90, 70, 5, 0.98), "ios": (85, None, None, None)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default=str(ROOT.parent / "shared/data/mobile-ml-benchmark"))
    ap.add_argument("--phones", nargs="+", default=PHONES)
    a = ap.parse_args()
    os.environ["LETI_HOME"] = tempfile.mkdtemp(prefix="leti-phones-")
    from leti.estimator.db import open_db
    from leti.estimator.devices.published import CITATION
    from leti.estimator.devices.published import PHONES as FACTS
    from leti.estimator.services.evaluate import published_spread
    from leti.estimator.services.kernel_train import cross_validate, profiled_models
    from leti.estimator.services.published import import_dataset

    db = open_db()
    imported = import_dataset(db, Path(a.dataset))
    print(imported.summary(), file=sys.stderr)
    rows, out = [], {"dataset": a.dataset, "citation": CITATION, "phones": {}}
    for phone in a.phones:
        device = f"phone/{phone}/gpu"
        start = time.time()
        models = profiled_models(db, device)
        cv = cross_validate(models)
        spread = published_spread(db, device)
        s = cv["scores"]
        out["phones"][device] = {
            **{k: v for k, v in cv.items()},
            "seconds": time.time() - start,
            "truth_spread_pct": spread,
        }
        le, sr, fp = (
            s["leti"],
            s["sum-of-predicted-kernels-x-median-ratio"],
            s["flops-proportional"],
        )
        f = FACTS[phone]
        rows.append(
            [
                f"{f.name} ({f.gpu})",
                len(models),
                cv["families"],
                le["within_10"],
                le["within_5"],
                le["mape"],
                le["spearman"],
                cv["coverage_90"],
                sr["within_10"],
                sr["mape"],
                fp["within_10"],
                fp["mape"],
                spread,
            ]
        )
        print(
            f"{device}: {le['within_10']:.1f}% within 10%, {le['within_5']:.1f}% within 5%, "
            f"MAPE {le['mape']:.2f}%, rho {le['spearman']:.3f} ({time.time() - start:.0f} s)",
            file=sys.stderr,
        )
    table = md_table(
        [
            "phone (GPU)",
            "models",
            "families",
            "±10 %",
            "±5 %",
            "MAPE %",
            "ρ",
            "90 % interval covers",
            "Σ kernels × ratio: ±10 %",
            "its MAPE %",
            "FLOPs-prop.: ±10 %",
            "its MAPE %",
            "truth: run-to-run std/mean, median %",
        ],
        rows,
    )
    md = f"""### Phone GPUs (published measurements, models left out by family)

{table}

Every model is predicted from its rebuilt .tflite graph by an estimator that never saw its
family (the imgclsmob module that defines it): the delegate's kernel rules, the kernel
regressors and the composition's form were all learned without it. "Σ kernels × ratio" is the
sum of the same predicted kernels times the median end-to-end/kernel-sum ratio of the training
families; "FLOPs-prop." one time-per-FLOP scale. The last column is the truth's own spread:
the median over models of the published run-to-run std/mean of the end-to-end time.
Data: {CITATION}; github.com/qed-usc/mobile-ml-benchmark at commit 40ba833 (MIT License),
{len(imported.dataset.model_names())} of its 102 models (the folder this project was given).
"""
    save("phones", out, md)


if __name__ == "__main__":
    main()
