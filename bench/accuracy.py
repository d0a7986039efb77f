"""Accuracy of leti-view against measured latency, side by side with the baselines.

In a fresh LETI_HOME: build the suite on the device, train, then measure and predict the
frozen evaluation set (bench/reference_models.py: 18 Keras architectures, and the 7 MediaPipe
models of ../shared/models when present; none of them, nor any of their layers, is used in
training). Truth is timed in interleaved rounds with the drift reference set around every
round; errors are reported raw and with the drift removed. Also records the calibration time,
the composition's leave-one-family-out figures on the generated networks, and how many real
models fall inside their predicted 90% interval.

    python bench/accuracy.py [--device host] [--suite default] [--home DIR] [--rounds 8]
                             [--skip-build] [--name accuracy]

``--name`` saves the results under another name (bench/results/NAME.md/.json), so that a rerun
on the same home (``--skip-build``) or a run on another machine sits beside the first; the
plots are drawn for the default name only.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, SHARED_MODELS, md_table, save  # noqa: E402

TARGETS = {"within_10": 90.0, "within_5": 60.0, "mape": 7.0, "spearman": 0.98}


def leti(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "leti.estimator.cli", *args],
                          capture_output=True, text=True, check=True)  # fmt: skip


def met(s: dict) -> dict[str, bool]:
    return {
        "within_10": s["within_10"] >= TARGETS["within_10"],
        "within_5": s["within_5"] >= TARGETS["within_5"],
        "mape": s["mape"] <= TARGETS["mape"],
        "spearman": (s["spearman"] or 0) >= TARGETS["spearman"],
    }


def beats(scores: dict) -> bool:
    me = scores["leti"]
    return all(
        me["mape"] < s["mape"] and me["within_10"] >= s["within_10"]
        and me["within_5"] >= s["within_5"] and (me["spearman"] or 0) > (s["spearman"] or 0)
        for name, s in scores.items() if name != "leti"
    )  # fmt: skip


def record_suite_time(suite: str, seconds: float) -> None:
    """Write a fresh home's build time into estimator/generate/suite_times.json (as
    bench/build.py does), with this machine and date."""
    from common import ROOT, machine

    path = ROOT / "estimator" / "generate" / "suite_times.json"
    times = json.loads(path.read_text())
    times["seconds"][suite] = round(seconds, 1)
    m = machine()
    times.update(machine=f"{m['cpu']}, {m['cores']} cores", date=m["date"][:10])
    path.write_text(json.dumps(times, indent=1) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="host")
    ap.add_argument("--suite", default="default")
    ap.add_argument("--home", help="LETI_HOME to use (default: a fresh temporary one)")
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--models-dir", default=str(Path(__file__).parent / "models"))
    ap.add_argument("--skip-build", action="store_true", help="reuse the home's database")
    ap.add_argument("--name", default="accuracy", help="results name (default: accuracy)")
    args = ap.parse_args()
    home = Path(args.home or tempfile.mkdtemp(prefix="leti-bench-"))
    os.environ["LETI_HOME"] = str(home)
    print(f"LETI_HOME={home}", flush=True)

    build_s = None
    if not args.skip_build:
        t0 = time.time()
        leti("db", "build", "--device", args.device, "--suite", args.suite, "--no-progress")
        build_s = time.time() - t0
        # the figure the CLI and the viewer quote for this suite; one file, one machine: a run
        # saved under another name (another machine) leaves it to the main run
        if args.device == "host" and args.name == "accuracy":
            record_suite_time(args.suite, build_s)
    t0 = time.time()
    report = json.loads(leti("train", "--device", args.device, "--format", "json").stdout)
    train_s = time.time() - t0

    from reference_models import build_all, family_of, in_corpus

    models = sorted(SHARED_MODELS.glob("*.tflite")) if SHARED_MODELS.is_dir() else []
    models += build_all(Path(args.models_dir))

    from leti.estimator.db import open_db
    from leti.estimator.devices import DeviceSpec
    from leti.estimator.services.estimate import load_estimator
    from leti.estimator.services.evaluate import evaluate

    spec = DeviceSpec.parse(args.device)
    result = evaluate(open_db(), [str(m) for m in models], spec, baselines=True,
                      remeasure=True, rounds=args.rounds)  # fmt: skip
    est = load_estimator(spec)
    inside = []
    for m in result["models"]:
        p = est.predict(m["model"])
        lo, hi = p.total_interval_ms
        m["interval_ms"] = [lo, hi]
        m["inside_interval"] = lo <= m["measured_ms"] <= hi
        m["family"] = family_of(Path(m["model"]))
        m["in_corpus"] = in_corpus(Path(m["model"]))
        m["analytic_share"] = p.analytic_share
        inside.append(m["inside_interval"])
    scores = result["scores"]
    norm = result.get("scores_normalised")
    comp = report["composition"]
    per_family = defaultdict(list)
    for m in result["models"]:
        per_family[m["family"]].append(abs(m["error_pct"]))
    from leti.estimator.learn.metrics import scores as score_of

    overlap_rows, overlap = [], {}
    for part, want in (("family in the corpus", True), ("family not in the corpus", False)):
        ms = [m for m in result["models"] if m["in_corpus"] is want]
        if ms:
            s = score_of([m["measured_ms"] for m in ms], [m["predicted_ms"] for m in ms])
            overlap[part] = s
            overlap_rows.append([part, len(ms), s["mape"], s["within_5"], s["within_10"],
                                 s["spearman"]])  # fmt: skip
    truth = result["truth"] or {}
    truth_rows = [
        [name, r.get("within_10"), r.get("within_5"), r.get("median_gap_pct"),
         r.get("worst_gap_pct"), "**in use**" if name == truth.get("statistic") else ""]
        for name, r in truth.get("by_statistic", {}).items()
    ]  # fmt: skip
    fam_rows = [[f, len(v), sum(v) / len(v), max(v)] for f, v in sorted(per_family.items())]
    score_rows = [[name, s["mape"], s["within_5"], s["within_10"], s["spearman"]]
                  for name, s in scores.items()]  # fmt: skip
    norm_rows = [[name, s["mape"], s["within_5"], s["within_10"], s["spearman"]]
                 for name, s in (norm or {}).items()]  # fmt: skip
    per_model = [
        [Path(m["model"]).name, m["family"], m["operators"], m["measured_ms"], m["predicted_ms"],
         f"{m['error_pct']:+.1f}%",
         "–" if m["error_normalised_pct"] is None else f"{m['error_normalised_pct']:+.1f}%",
         "yes" if m["inside_interval"] else "no", m["flops-proportional_ms"],
         m["gsoc-conv-only_ms"]]
        for m in result["models"]
    ]  # fmt: skip
    ops = [
        [r["op"], r["samples"], r["chosen"], r["metrics"]["mape"], r["metrics"]["within_5"],
         r["metrics"]["within_10"], r["metrics"]["r2"]]
        for r in report["op_types"]
    ]  # fmt: skip
    cand = [[c["form"], c["columns"], c["cv_mape"]] for c in comp.get("candidates", [])[:6]]
    gen_fam = [[f, v] for f, v in sorted(comp.get("cv_mape_per_family", {}).items())]
    drift = result["drift"]
    targets_raw, targets_norm = met(scores["leti"]), met(norm["leti"]) if norm else None
    build_line = (f"`leti db build --suite {args.suite}` {build_s / 60:.1f} min"
                  if build_s is not None else "the home's existing build")  # fmt: skip
    md = f"""
### Whole-model accuracy on {result["device"]} ({len(models)} held-out models, the frozen set)

Calibration: {build_line} ({report["samples"]} single-op measurements, {report["networks"]}
generated networks), `leti train` {train_s:.0f} s. Truth: {args.rounds} interleaved rounds, the
drift reference set timed before every round (device at x{drift["factor"] or 1:.3f} of its
calibration timings{", another state than at calibration" if drift["different_state"] else ""}).

{md_table(["estimator", "MAPE %", "within ±5 %", "within ±10 %", "Spearman ρ"], score_rows)}

The truth's own repeatability (each statistic from the even rounds against the same from the
odd rounds; share of models agreeing within ±10 % / ±5 %):

{md_table(["truth statistic", "within ±10 %", "within ±5 %", "median gap %", "worst gap %", ""], truth_rows)}
{("**Warning:** " + truth["warning"]) if truth.get("warning") else ""}

By overlap with the real-architecture corpus (MediaPipe-style models are never in it):

{md_table(["part", "models", "MAPE %", "within ±5 %", "within ±10 %", "Spearman ρ"], overlap_rows)}

With the drift removed (truth divided by the least of its rounds' reference factors):

{md_table(["estimator", "MAPE %", "within ±5 %", "within ±10 %", "Spearman ρ"], norm_rows)}

Targets (within ±10% ≥ 90%, within ±5% ≥ 60%, MAPE ≤ 7%, ρ ≥ 0.98), raw: {", ".join(f"{k} {'met' if v else 'NOT met'}" for k, v in targets_raw.items())}{"; drift removed: " + ", ".join(f"{k} {'met' if v else 'NOT met'}" for k, v in targets_norm.items()) if targets_norm else ""}.
Beats every baseline on every metric: {"yes" if beats(scores) else "no"}.
Real models inside their predicted 90% interval: {sum(inside)} of {len(inside)}.

Composition chosen by leave-one-family-out cross-validation on the generated networks
({comp.get("families", "?")} families): **{comp.get("form")}**; out-of-family MAPE
{comp.get("cv_mape", float("nan")):.1f}% (the plain sum of single-op predictions:
{comp.get("mape_sum_of_single_ops", float("nan")):.1f}%), within ±10% {comp.get("cv_within_10", float("nan")):.0f}%,
90%-interval coverage family by family {comp.get("coverage_90_leave_family_out") or float("nan"):.0f}%.

{md_table(["candidate form", "columns", "out-of-family MAPE %"], cand)}

{md_table(["generated family held out", "its networks' MAPE %"], gen_fam)}

Error by real-model family:

{md_table(["family", "models", "mean abs error %", "worst %"], fam_rows)}

{md_table(["model", "family", "ops", "measured ms", "leti ms", "error", "error, drift removed", "in 90% interval", "FLOPs-prop. ms", "GSoC conv-only ms"], per_model)}

### Per-op-kind cross-validated error (held-out folds)

{md_table(["op kind", "n", "regressor", "MAPE %", "±5 %", "±10 %", "R²"], ops)}
"""
    save(args.name, {"build_s": build_s, "train_s": train_s, "train_report": report,
                      "evaluation": result, "targets_met": targets_raw,
                      "targets_met_drift_removed": targets_norm, "beats_baselines": beats(scores),
                      "inside_interval": sum(inside), "home": str(home),
                      "overlap": overlap, "truth": truth}, md)  # fmt: skip
    if args.name == "accuracy":
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
    fig, ax = plt.subplots(figsize=(7, 6))
    ax.barh([r["op"] for r in ops], [r["metrics"]["mape"] for r in ops], color="#f16913")
    ax.set_xlabel("cross-validated MAPE (%)")
    ax.set_title("Single-op error by op kind")
    ax.invert_yaxis()
    ax.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    fig.savefig(RESULTS / "error_by_op.png", dpi=110)


if __name__ == "__main__":
    main()
