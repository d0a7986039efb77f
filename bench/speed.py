"""Speed of the CLI and the Python API.

``leti estimate`` and ``leti inspect`` as fresh processes (what a user waits for), the API's
models-per-second once an estimator is loaded, and peak memory.

    python bench/speed.py --home DIR   # DIR holds a trained host estimator (bench/accuracy.py)
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one core, as a search worker would have
import argparse
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_MODELS, md_table, save  # noqa: E402
from search_space import candidate  # noqa: E402
from synthetic import stacked  # noqa: E402


def wall(cmd: list[str], repeat: int) -> tuple[float, int]:
    """Median wall seconds of a fresh process, and its own peak RSS in KB (GNU time)."""
    times, peak = [], 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if r.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed: {r.stderr[-500:]}")
    timed = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], capture_output=True, text=True)
    if timed.returncode == 0:
        peak = int(timed.stderr.strip().splitlines()[-1])
    return statistics.median(times), peak


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", required=True, help="LETI_HOME with a trained host estimator")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--candidates", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--memory-predictions", type=int, default=100_000)
    args = ap.parse_args()
    os.environ["LETI_HOME"] = args.home
    cache = Path(__file__).parent / "models"
    models = {
        "small (face_landmark, 97 ops)": SHARED_MODELS / "face_landmark.tflite",
        "250 ops (generated)": stacked(250, cache / "stacked_250.tflite"),
        "1000 ops (generated)": stacked(1000, cache / "stacked_1000.tflite"),
    }
    if not models["small (face_landmark, 97 ops)"].exists():
        models.pop("small (face_landmark, 97 ops)")
        models = {"small (generated, 48 ops)": stacked(48, cache / "stacked_48.tflite"), **models}

    from leti.estimator.graph import read_model

    rows, data = [], {}
    leti = [sys.executable, "-m", "leti.estimator.cli"]
    for label, path in models.items():
        ops = len(read_model(path).nodes)
        est_s, est_rss = wall([*leti, "estimate", str(path), "--format", "json"], args.repeat)
        ins_s, ins_rss = wall([*leti, "inspect", str(path), "--format", "json"], args.repeat)
        data[label] = {"operators": ops, "estimate_s": est_s, "inspect_s": ins_s,
                       "peak_rss_kb": max(est_rss, ins_rss)}  # fmt: skip
        rows.append([label, ops, est_s, ins_s])

    from leti.estimator.devices import DeviceSpec
    from leti.estimator.services.estimate import load_estimator

    est = load_estimator(DeviceSpec.parse("host"))
    print(f"generating {args.candidates} search-space candidates ...", flush=True)
    cands = [candidate(i) for i in range(args.candidates)]
    ops = statistics.median(len(read_model(c).nodes) for c in cands[:20])
    blob = models["250 ops (generated)"].read_bytes()
    est.predict_totals(cands[:4])  # every op kind's arrays loaded once

    def rate(call, items) -> float:  # noqa: ANN001
        t0 = time.perf_counter()
        call(items)
        return len(items) / (time.perf_counter() - t0)

    calls = {
        "`predict_totals(bytes)`, distinct candidates": lambda: rate(est.predict_totals, cands),
        "`predict_many(bytes)`, distinct candidates": lambda: rate(est.predict_many, cands),
        "`predict_many(parsed graphs)`, first call": lambda: _first_parsed(est, cands),
        "`predict_many(parsed graphs)`, again": lambda: rate(est.predict_many, parsed),
        "`predict_totals(bytes)`, one 250-op model repeated": lambda: rate(
            est.predict_totals, [blob] * len(cands)),
        "`predict(bytes)` in a loop, distinct candidates": lambda: rate(
            lambda xs: [est.predict(x) for x in xs], cands[:50]),
        "`read_model(bytes)` alone (parsing, for comparison)": lambda: rate(
            lambda xs: [read_model(x) for x in xs], cands[:50]),
    }  # fmt: skip
    parsed = [read_model(c) for c in cands]
    est.predict_many(parsed)  # columns kept on each graph from now on
    rounds: dict[str, list[float]] = {k: [] for k in calls}
    for _ in range(args.rounds):  # interleaved: a slow minute slows every call alike
        for k, call in calls.items():
            rounds[k].append(call())
    api_rows = [[k, statistics.median(v), min(v), max(v)] for k, v in rounds.items()]
    print(f"timings done; memory over {args.memory_predictions:,} predictions ...", flush=True)
    memory = flat_memory(est, cands, args.memory_predictions)
    api = {"candidate_ops_median": ops, "rounds": rounds, "memory": memory}
    md = f"""
### CLI as a fresh process (median of {args.repeat})

{md_table(["model", "ops", "`leti estimate` s", "`leti inspect` s"], rows)}

Peak memory (RSS) of one such process: {max(d["peak_rss_kb"] for d in data.values()) / 1024:.0f} MB.

### Python API, estimator loaded once, one core

{args.candidates} distinct candidates of a MobileNetV2-like search space (`bench/search_space.py`,
median {ops:.0f} ops, kernel/expansion/width drawn per block), in {args.rounds} interleaved rounds:

{md_table(["call", "models/s (median)", "slowest round", "fastest round"], api_rows)}

A parsed graph carries the columns the column reader read from its file while `read_model`
parsed it (part of the parsing row's time), so a first call on parsed graphs walks no nodes;
"again" reuses the numbers already on the graphs. Memory over {memory["predictions"]:,} predictions
(`predict_totals`, chunks of 256): RSS {memory["rss_mb"][0]:.0f} MB after the first
{memory["every"]:,}, {memory["rss_mb"][-1]:.0f} MB at the end (max {max(memory["rss_mb"]):.0f} MB).
"""
    save("speed", {"cli": data, "api": api}, md)


def _first_parsed(est, cands) -> float:  # noqa: ANN001
    from leti.estimator.graph import read_model

    graphs = [read_model(c) for c in cands]
    t0 = time.perf_counter()
    est.predict_many(graphs)
    return len(graphs) / (time.perf_counter() - t0)


def flat_memory(est, cands: list[bytes], predictions: int) -> dict:  # noqa: ANN001
    """RSS after every tenth of ``predictions`` predictions (the candidates, over and over)."""
    every = max(predictions // 10, len(cands))
    out, done = [], 0
    while done < predictions:
        n = 0
        while n < every:
            est.predict_totals(cands)
            n += len(cands)
        done += n
        out.append(_rss_mb())
    return {"predictions": done, "every": every, "rss_mb": out}


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


if __name__ == "__main__":
    main()
