"""Accuracy of leti-view against measured latency, side by side with the two baselines.

In a fresh LETI_HOME: build the suite on the device, train, then measure and predict held-out
real models (../shared/models when present, and the Keras reference set, none used in
training). Also records the calibration time (build + train) next to the accuracy it bought.

    python bench/accuracy.py [--device host] [--suite default] [--home DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, SHARED_MODELS, md_table, save  # noqa: E402

TARGETS = {"within_10": 90.0, "mape": 8.0, "spearman": 0.95}


def leti(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "leti.estimator.cli", *args],
                          capture_output=True, text=True, check=True)  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="host")
    ap.add_argument("--suite", default="default")
    ap.add_argument("--home", help="LETI_HOME to use (default: a fresh temporary one)")
    ap.add_argument("--models-dir", default=str(Path(__file__).parent / "models"))
    args = ap.parse_args()
    home = Path(args.home or tempfile.mkdtemp(prefix="leti-bench-"))
    os.environ["LETI_HOME"] = str(home)
    print(f"LETI_HOME={home}", flush=True)

    t0 = time.time()
    leti("db", "build", "--device", args.device, "--suite", args.suite, "--no-progress")
    build_s = time.time() - t0
    t0 = time.time()
    report = json.loads(leti("train", "--device", args.device, "--format", "json").stdout)
    train_s = time.time() - t0

    from reference_models import build_all

    models = sorted(SHARED_MODELS.glob("*.tflite")) if SHARED_MODELS.is_dir() else []
    models += build_all(Path(args.models_dir))

    from leti.estimator.db import open_db
    from leti.estimator.devices import DeviceSpec
    from leti.estimator.services.evaluate import evaluate

    result = evaluate(
        open_db(), [str(m) for m in models], DeviceSpec.parse(args.device), baselines=True, rounds=5
    )
    scores = result["scores"]
    per_model = [
        [Path(m["model"]).name, m["operators"], m["measured_ms"], m["predicted_ms"],
         f"{m['error_pct']:+.1f}%", m["flops-proportional_ms"], m["gsoc-conv-only_ms"]]
        for m in result["models"]
    ]  # fmt: skip
    score_rows = [
        [name, s["mape"], s["within_5"], s["within_10"], s["spearman"]]
        for name, s in scores.items()
    ]
    ops = [
        [r["op"], r["samples"], r["chosen"], r["metrics"]["mape"], r["metrics"]["within_5"],
         r["metrics"]["within_10"], r["metrics"]["r2"]]
        for r in report["op_types"]
    ]  # fmt: skip
    leti_s = scores["leti"]
    met = {
        "within_10": leti_s["within_10"] >= TARGETS["within_10"],
        "mape": leti_s["mape"] <= TARGETS["mape"],
        "spearman": (leti_s["spearman"] or 0) >= TARGETS["spearman"],
    }
    beats = all(
        leti_s["mape"] < s["mape"] and leti_s["within_10"] >= s["within_10"]
        and leti_s["within_5"] >= s["within_5"] and (leti_s["spearman"] or 0) > (s["spearman"] or 0)
        for name, s in scores.items() if name != "leti"
    )  # fmt: skip
    md = f"""
### Whole-model accuracy on {result["device"]} ({len(models)} held-out models)

Calibration: `leti db build --suite {args.suite}` {build_s / 60:.1f} min
({report["samples"]} single-op measurements, {report["networks"]} generated networks),
`leti train` {train_s:.0f} s.

{md_table(["estimator", "MAPE %", "within ±5 %", "within ±10 %", "Spearman ρ"], score_rows)}

Targets (within ±10% ≥ 90%, MAPE ≤ 8%, ρ ≥ 0.95): {", ".join(f"{k} {'met' if v else 'NOT met'}" for k, v in met.items())};
beats both baselines on every metric: {"yes" if beats else "no"}.

{md_table(["model", "ops", "measured ms", "leti ms", "leti error", "FLOPs-prop. ms", "GSoC conv-only ms"], per_model)}

### Per-op-type cross-validated error (held-out folds)

{md_table(["op type", "n", "regressor", "MAPE %", "±5 %", "±10 %", "R²"], ops)}
"""
    save("accuracy", {"build_s": build_s, "train_s": train_s, "train_report": report,
                      "evaluation": result, "targets_met": met, "beats_baselines": beats,
                      "home": str(home)}, md)  # fmt: skip
    plot(result, report)


def plot(result: dict, report: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    measured = np.array([m["measured_ms"] for m in result["models"]])
    fig, ax = plt.subplots(figsize=(6, 5.5))
    lo, hi = measured.min() / 2, measured.max() * 2
    xs = np.geomspace(lo, hi, 50)
    ax.fill_between(xs, xs * 0.9, xs * 1.1, color="#cfe8cf", label="±10%")
    ax.plot(xs, xs, color="#777", lw=0.8)
    for key, label, marker in [("predicted_ms", "leti-view", "o"),
                               ("flops-proportional_ms", "FLOPs-proportional", "s"),
                               ("gsoc-conv-only_ms", "GSoC conv-only", "^")]:  # fmt: skip
        pred = np.array([max(m[key], lo) for m in result["models"]])
        ax.scatter(measured, pred, label=label, marker=marker, s=28, alpha=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel("measured latency (ms)")
    ax.set_ylabel("predicted latency (ms)")
    ax.set_title(f"Held-out models on {result['device'].split('/')[0]}")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(RESULTS / "accuracy_scatter.png", dpi=110)

    ops = [r for r in report["op_types"] if r["metrics"]["mape"] is not None]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.barh([r["op"] for r in ops], [r["metrics"]["mape"] for r in ops], color="#f16913")
    ax.set_xlabel("cross-validated MAPE (%)")
    ax.set_title("Single-op error by op type")
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(RESULTS / "error_by_op.png", dpi=110)


if __name__ == "__main__":
    main()
