"""Speed of the CLI and the Python API.

``leti estimate`` and ``leti inspect`` as fresh processes (what a user waits for), the API's
models-per-second once an estimator is loaded, and peak memory.

    python bench/speed.py --home DIR   # DIR holds a trained host estimator (bench/accuracy.py)
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_MODELS, md_table, save  # noqa: E402
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
    path250 = models["250 ops (generated)"]
    blob = path250.read_bytes()
    t0 = time.perf_counter()
    read = [read_model(blob) for _ in range(50)]
    parse_s = (time.perf_counter() - t0) / 50
    n = 200
    t0 = time.perf_counter()
    est.predict_many([blob] * n)
    many = n / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for _ in range(50):
        est.predict(blob)
    single = 50 / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    est.predict_many(read * 4)
    parsed = 200 / (time.perf_counter() - t0)
    api = {"parse_250_ms": parse_s * 1000, "predict_many_models_per_s": many,
           "predict_models_per_s": single, "predict_many_preparsed_models_per_s": parsed,
           "peak_rss_kb_this_process": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}  # fmt: skip
    md = f"""
### CLI as a fresh process (median of {args.repeat})

{md_table(["model", "ops", "`leti estimate` s", "`leti inspect` s"], rows)}

Peak memory (RSS) of one such process: {max(d["peak_rss_kb"] for d in data.values()) / 1024:.0f} MB.

### Python API, estimator loaded once (250-op model)

{
        md_table(
            ["call", "models per second"],
            [
                ["`predict_many(bytes)`", many],
                ["`predict(bytes)` in a loop", single],
                ["`predict_many(parsed graphs)`", parsed],
            ],
        )
    }

Reading one 250-op model: {parse_s * 1000:.1f} ms. The same model's bytes are predicted
repeatedly (an architecture search loop sees similar ones); nothing is cached across calls
except decoded op-option tables, which repeat within any one model too.
"""
    save("speed", {"cli": data, "api": api}, md)


if __name__ == "__main__":
    main()
