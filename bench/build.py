"""Build throughput on the host: where a build's time goes (building the model with the
flatbuffer builder, checking it with the reader and one interpreter run, timing it), and how
long whole suites take from a fresh LETI_HOME. The suite times are written to
estimator/generate/suite_times.json, the one figure every quoted build time comes from.

    python bench/build.py [--per-op 4] [--suites smoke,default] [--baseline-ref COMMIT]

``--baseline-ref`` also runs that commit's own bench/build.py (TensorFlow generation) on this
machine, in the same session, for a like-for-like comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, md_table, save  # noqa: E402

SUITE_TIMES = ROOT / "estimator" / "generate" / "suite_times.json"


def phases(per_op: int, repeat: int) -> tuple[list[list], dict, list[float]]:
    from leti.estimator.devices.host import HostDevice
    from leti.estimator.generate import singles
    from leti.estimator.generate.check import check_single
    from leti.estimator.generate.suites import suite_configs

    by_op = defaultdict(list)
    for c in suite_configs("default"):
        by_op[c.op].append(c)
    rng = random.Random(0)
    dev = HostDevice()
    out: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    spreads = []
    for op, cfgs in sorted(by_op.items()):
        for cfg in rng.sample(cfgs, min(per_op, len(cfgs))):
            t0 = time.perf_counter()
            data = singles.build(cfg)
            t1 = time.perf_counter()
            check_single(cfg, data)
            t2 = time.perf_counter()
            medians = [dev.measure(data).median_ms for _ in range(repeat)]
            t3 = time.perf_counter()
            p = out[op]
            p["build"].append(t1 - t0)
            p["check"].append(t2 - t1)
            p["timing"].append((t3 - t2) / repeat)
            spreads.append((max(medians) - min(medians)) / statistics.median(medians))
    rows = []
    for op, p in out.items():
        per = {k: statistics.mean(v) for k, v in p.items()}
        rows.append([op, len(p["build"]), per["build"], per["check"], per["timing"],
                     60 / sum(per.values())])  # fmt: skip
    return rows, out, spreads


def suite_time(suite: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="leti-suite-") as home:
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "leti.estimator.cli", "db", "build",
                            "--suite", suite, "--no-progress"], capture_output=True, text=True,
                           env={**os.environ, "LETI_HOME": home})  # fmt: skip
        took = time.perf_counter() - t0
        if r.returncode:
            raise SystemExit(f"{suite} build failed: {r.stderr[-800:]}")
        status = json.loads(subprocess.run(
            [sys.executable, "-m", "leti.estimator.cli", "db", "status", "--format", "json"],
            capture_output=True, text=True, env={**os.environ, "LETI_HOME": home}).stdout)  # fmt: skip
    (dev,) = status["devices"].values()
    return {"seconds": took, "single_ops": dev["ok"], "failed": dev["failed"],
            "networks": dev["models"]}  # fmt: skip


def baseline(ref: str) -> dict | None:
    """That commit's own bench/build.py, run here: its measurements per minute."""
    with tempfile.TemporaryDirectory(prefix="leti-baseline-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), ref],
                       check=True, capture_output=True)  # fmt: skip
        try:
            ns = Path(tmp) / "site" / "leti"
            ns.mkdir(parents=True)
            for part in ("estimator", "server", "static"):
                (ns / part).symlink_to(tree / part)
            env = {**os.environ, "PYTHONPATH": str(ns.parent), "LETI_HOME": str(Path(tmp) / "h")}
            r = subprocess.run([sys.executable, str(tree / "bench" / "build.py")],
                               capture_output=True, text=True, env=env, cwd=tree)  # fmt: skip
            if r.returncode:
                print(f"baseline failed: {r.stderr[-800:]}", file=sys.stderr)
                return None
            data = json.loads((tree / "bench" / "results" / "build.json").read_text())
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                           capture_output=True)  # fmt: skip
    total = sum(sum(sum(v) for v in p.values()) for p in data["phases"].values())
    count = sum(len(p["keras"]) for p in data["phases"].values())
    return {
        "ref": ref,
        "per_minute": 60 * count / total,
        "configs": count,
        "convert_share": 100 * sum(sum(p["convert"]) for p in data["phases"].values()) / total,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-op", type=int, default=4, help="configs sampled per op kind")
    ap.add_argument("--repeat-timing", type=int, default=3, help="timings per model (spread)")
    ap.add_argument("--suites", default="smoke,default")
    ap.add_argument("--baseline-ref", help="a commit whose bench/build.py to run for comparison")
    args = ap.parse_args()
    os.environ.setdefault("LETI_HOME", tempfile.mkdtemp(prefix="leti-build-bench-"))
    base = baseline(args.baseline_ref) if args.baseline_ref else None
    rows, raw, spreads = phases(args.per_op, args.repeat_timing)
    total = defaultdict(float)
    for p in raw.values():
        for k, v in p.items():
            total[k] += sum(v)
    count = sum(len(p["build"]) for p in raw.values())
    per_minute = 60 * count / sum(total.values())
    share = {k: 100 * v / sum(total.values()) for k, v in total.items()}
    suites = {s: suite_time(s) for s in args.suites.split(",") if s}
    times = json.loads(SUITE_TIMES.read_text())
    for s, r in suites.items():
        times["seconds"][s] = round(r["seconds"], 1)
    from common import machine

    m = machine()
    times.update(machine=f"{m['cpu']}, {m['cores']} cores", date=m["date"][:10])
    SUITE_TIMES.write_text(json.dumps(times, indent=1) + "\n")
    base_line = ""
    if base:
        base_line = (f"\nThe same measurement with the TensorFlow generator (commit {base['ref']}'s own "
                     f"`bench/build.py`, {base['configs']} configurations, run just before on this "
                     f"machine): {base['per_minute']:.0f} measurements per minute, "
                     f"{base['convert_share']:.0f}% of it in TFLite conversion; now "
                     f"{per_minute / base['per_minute']:.1f}× as many per minute.\n")  # fmt: skip
    suite_rows = [[s, f"{r['seconds'] / 60:.1f} min", r["single_ops"], r["networks"], r["failed"],
                   f"{60 * (r['single_ops'] + r['networks']) / r['seconds']:.0f}"]
                  for s, r in suites.items()]  # fmt: skip
    md = f"""
### Host build throughput ({count} configurations, {args.per_op} of each op kind of the `default` suite)

Overall: {per_minute:.0f} measurements per minute. Where the time goes: building the model
{share["build"]:.0f}%, checking it (reader and one interpreter run) {share["check"]:.0f}%, timing {share["timing"]:.0f}%.
Repeatability: the same model timed {args.repeat_timing}× (separate warm-ups) spread by a median
{100 * statistics.median(spreads):.1f}% (max {100 * max(spreads):.1f}%) between medians.
{base_line}
Whole suites from a fresh `LETI_HOME` (`leti db build --suite S`):

{md_table(["suite", "wall time", "single ops", "networks", "failed", "models per minute"], suite_rows)}

{md_table(["op kind", "n", "build s", "check s", "timing s", "per minute"], rows)}
"""
    save("build", {"phases": {op: {k: list(v) for k, v in p.items()} for op, p in raw.items()},
                   "suites": suites, "baseline": base, "spreads": spreads,
                   "per_minute": per_minute}, md)  # fmt: skip


if __name__ == "__main__":
    main()
