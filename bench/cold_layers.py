"""Does timing single layers with cold caches lower the composition's cross-validated error?

Issue 21 asks to time single layers "as a network sees them" (weights not left warm in cache
between runs) and to keep that only if it lowers the cross-validated error. This script is that
test, on a trained home (``bench/accuracy.py`` leaves one):

1. A sample of the home's single-op configurations is rebuilt and timed twice, now, in
   interleaved order: warm (the build's way: back-to-back runs) and cold (before every run a
   buffer of twice the last-level cache is written, which evicts the op's weights, then the
   inputs are set again, as a producer would have just written them).
2. A regressor of log(cold / warm) from the op's weight bytes, activation bytes, warm time and
   op class is fitted and scored by cross-validation grouped by op kind.
3. Every network the home measured (generated and real corpus ones) gets a per-node "cold
   extra" column (its single-op prediction times the predicted cold/warm ratio minus one,
   ungated, or only in networks whose weights exceed a cache size), and the composition's form is
   chosen by the same leave-one-family-out cross-validation with and without those columns.

Run: ``python3 bench/cold_layers.py --home /tmp/acchome [--sample 400]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import md_table, save  # noqa: E402


def llc_bytes() -> int:
    """The last-level cache's size from sysfs (32 MB when it cannot be read)."""
    base = Path("/sys/devices/system/cpu/cpu0/cache")
    sizes = []
    for idx in base.glob("index*"):
        try:
            text = (idx / "size").read_text().strip()
        except OSError:
            continue
        unit = {"K": 2**10, "M": 2**20}.get(text[-1:], 1)
        sizes.append(int(text.rstrip("KM")) * unit)
    return max(sizes, default=32 * 2**20)


def time_pair(data: bytes, flush: np.ndarray, runs: int = 11) -> tuple[float, float]:
    """(warm, cold) median ms of one model, runs alternating warm and cold."""
    from ai_edge_litert.interpreter import Interpreter
    from leti.estimator.devices.host import fill_inputs
    from leti.estimator.logs import native_stderr

    with native_stderr():
        it = Interpreter(model_content=data, num_threads=1)
        it.allocate_tensors()
    inputs = fill_inputs(it)  # the build's inputs, kept to set again after each flush
    for _ in range(3):
        it.invoke()
    clock = time.perf_counter_ns
    warm, cold = [], []
    for _ in range(runs):
        t = clock()
        it.invoke()
        warm.append((clock() - t) / 1e6)
        np.add(flush, 1.0, out=flush)
        for i, v in inputs:
            it.set_tensor(i, v)
        t = clock()
        it.invoke()
        cold.append((clock() - t) / 1e6)
    return float(np.median(warm)), float(np.median(cold))


def measure(device: str, sample: int, seed: int) -> list[dict]:
    from leti.estimator.db import open_db
    from leti.estimator.generate import singles
    from leti.estimator.generate.config import OpConfig

    db = open_db()
    rows = [r for r in db.usable_measurements(device) if r.get("source") in ("random", "smoke")]
    random.Random(seed).shuffle(rows)
    flush = np.zeros(2 * llc_bytes() // 8)
    out = []
    for r in rows[:sample]:
        try:
            data = singles.build(OpConfig(r["op_type"], r["config"]))
            warm, cold = time_pair(data, flush)
        except Exception as exc:  # noqa: BLE001  an op this runtime cannot build or run
            print(f"skipped {r['op_type']}: {exc}", file=sys.stderr)
            continue
        f = r["features"]
        out.append({"op": r["op_type"], "bytes_w": f["bytes_w"], "bytes_act": f["bytes_in"]
                    + f["bytes_out"], "warm_ms": warm, "cold_ms": cold})  # fmt: skip
    return out


def ratio_features(bytes_w, bytes_act, warm_ms, classes) -> np.ndarray:
    from leti.estimator.predict.composition import OP_CLASSES

    code = np.array([OP_CLASSES.index(c) for c in classes], float)
    return np.column_stack([np.log1p(bytes_w), np.log1p(bytes_act),
                            np.log(np.maximum(warm_ms, 1e-6)), code])  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--sample", type=int, default=400)
    ap.add_argument("--device", default="host/amd-epyc-e3b0d3/t1")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timings", type=Path, help="reuse (or write) the cold/warm timings here")
    args = ap.parse_args()
    os.environ["LETI_HOME"] = str(args.home)
    from leti.estimator.db import open_db
    from leti.estimator.learn import composition as learn
    from leti.estimator.predict.composition import op_class
    from leti.estimator.predict.store import load
    from leti.estimator.services import train as training
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.model_selection import GroupKFold, cross_val_predict

    start = time.time()
    timed_how = ""
    if args.timings and args.timings.exists():
        device, timed = json.loads(args.timings.read_text())
        timed_how = f"timings reused from {args.timings}"
    else:
        timed = measure(args.device, args.sample, args.seed)
        device = args.device
        if args.timings:
            args.timings.write_text(json.dumps([device, timed]))
    timing_s = time.time() - start
    timed_how = timed_how or f"{timing_s:.0f} s"
    w = np.array([t["bytes_w"] for t in timed], float)
    a = np.array([t["bytes_act"] for t in timed], float)
    warm = np.array([t["warm_ms"] for t in timed])
    cold = np.array([t["cold_ms"] for t in timed])
    ops = [t["op"] for t in timed]
    X = ratio_features(w, a, warm, [op_class(o) for o in ops])
    y = np.log(cold / warm)
    reg = HistGradientBoostingRegressor(max_iter=200, learning_rate=0.05, min_samples_leaf=10)
    held = cross_val_predict(reg, X, y, groups=ops, cv=GroupKFold(5))
    reg.fit(X, y)

    db = open_db()
    est = load(device)
    refs = db.measurements(device, reference=True)
    nets = training.normalised(refs, db.model_measurements(device, kind="generated"))
    networks = training.composition_networks(db, device, est, nets)
    for n in networks:
        f = n.facts
        ratio = np.exp(reg.predict(ratio_features(f.weights_mb * 1e6, f.act_mb * 1e6,
                                                  f.raw, f.cls)))  # fmt: skip
        f.cold = np.where(f.costed, f.raw * np.maximum(ratio - 1.0, 0.0), 0.0)
    floor = min(r["median_ms"] for r in db.usable_measurements(device))
    base = learn.fit(networks, floor)
    with_cold = learn.fit(networks, floor, cold=True)
    rb, rc = base.report, with_cold.report
    data = {
        "home": str(args.home), "device": device, "sampled_ops": len(timed),
        "timing_s": timing_s, "llc_bytes": llc_bytes(),
        "cold_over_warm": {"median": float(np.median(cold / warm)),
                           "p90": float(np.quantile(cold / warm, 0.9))},
        "ratio_cv_mae_log": float(np.mean(np.abs(held - y))),
        "ratio_constant_mae_log": float(np.mean(np.abs(y - np.median(y)))),
        "without": {k: rb[k] for k in ("form", "cv_mape", "cv_within_10")},
        "with": {k: rc[k] for k in ("form", "cv_mape", "cv_within_10")},
        "with_candidates": rc["candidates"][:5], "families": len(set(n.family for n in networks)),
        "networks": len(networks),
    }  # fmt: skip
    kept = rc["cv_mape"] < rb["cv_mape"] and "cold" in rc["form"]
    verdict = (
        "lower, so worth building in (the build times the\ncold runs, the estimator file keeps "
        "the ratio regressor)"
        if kept
        else "not lower: not kept"
    )
    md = (
        f"""### Single layers timed with cold caches (issue 21)

{len(timed)} single-op configurations of `{args.home}` ({device}) rebuilt and timed warm and
cold in alternating runs ({timed_how}): cold/warm median x{data["cold_over_warm"]["median"]:.2f},
90th percentile x{data["cold_over_warm"]["p90"]:.2f}. The ratio regressor's error (mean |log|,
grouped by op kind): {data["ratio_cv_mae_log"]:.3f} against {data["ratio_constant_mae_log"]:.3f}
for one constant ratio.

Composition on {len(networks)} measured networks ({data["families"]} families), leave one
family out:

"""
        + md_table(
            ["candidates", "chosen form", "CV MAPE %", "CV within ±10 %"],
            [
                ["without cold columns", rb["form"], rb["cv_mape"], rb["cv_within_10"]],
                ["with cold columns", rc["form"], rc["cv_mape"], rc["cv_within_10"]],
            ],
        )
        + f"""

Best candidates with cold columns: {"; ".join(f"{c['form']} ({c['cv_mape']:.2f} %)" for c in rc["candidates"][:3])}.

Verdict: with cold columns the cross-validated MAPE goes {rb["cv_mape"]:.2f} -> {rc["cv_mape"]:.2f} %
and within ±10 % {rb["cv_within_10"]:.1f} -> {rc["cv_within_10"]:.1f} %: {verdict}.
"""
    )
    save("cold_layers", data, md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
