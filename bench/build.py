"""Where a host build's time goes: Keras model construction, TFLite conversion, verification
with the graph reader, and timing; measurements per minute overall and per op type.

    python bench/build.py [--per-op 4]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import md_table, save  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-op", type=int, default=4, help="configs sampled per op type")
    ap.add_argument("--repeat-timing", type=int, default=3, help="timings per model (spread)")
    args = ap.parse_args()
    os.environ.setdefault("LETI_HOME", tempfile.mkdtemp(prefix="leti-build-bench-"))
    from leti.estimator.devices.host import HostDevice
    from leti.estimator.generate.opgen import _build_keras, convert, verify
    from leti.estimator.generate.suites import suite_configs

    t0 = time.perf_counter()
    import tensorflow  # noqa: F401

    import_s = time.perf_counter() - t0
    by_op = defaultdict(list)
    for c in suite_configs("default"):
        by_op[c.op].append(c)
    rng = random.Random(0)
    dev = HostDevice()
    phases = defaultdict(lambda: defaultdict(list))
    spreads = []
    for op, cfgs in sorted(by_op.items()):
        for cfg in rng.sample(cfgs, min(args.per_op, len(cfgs))):
            t = time.perf_counter()
            model = _build_keras(cfg)
            t1 = time.perf_counter()
            data = convert(model)
            t2 = time.perf_counter()
            verify(cfg, data)
            t3 = time.perf_counter()
            medians = [dev.measure(data).median_ms for _ in range(args.repeat_timing)]
            t4 = time.perf_counter()
            p = phases[op]
            p["keras"].append(t1 - t)
            p["convert"].append(t2 - t1)
            p["verify"].append(t3 - t2)
            p["timing"].append((t4 - t3) / args.repeat_timing)
            spreads.append((max(medians) - min(medians)) / statistics.median(medians))
    rows, total = [], defaultdict(float)
    count = 0
    for op, p in phases.items():
        per = {k: statistics.mean(v) for k, v in p.items()}
        s = sum(per.values())
        rows.append(
            [
                op,
                len(p["keras"]),
                per["keras"],
                per["convert"],
                per["verify"],
                per["timing"],
                60 / s,
            ]
        )
        for k, v in p.items():
            total[k] += sum(v)
        count += len(p["keras"])
    all_s = sum(total.values())
    share = {k: 100 * v / all_s for k, v in total.items()}
    md = f"""
### Host build throughput ({count} configurations sampled from the `default` suite)

Overall: {60 * count / all_s:.0f} measurements per minute (TensorFlow import, once: {import_s:.1f} s).
Where the time goes: Keras construction {share["keras"]:.0f}%, TFLite conversion {share["convert"]:.0f}%,
verification {share["verify"]:.0f}%, timing {share["timing"]:.0f}%.
Repeatability: the same model timed {args.repeat_timing}× (separate warm-ups) spread by a median
{100 * statistics.median(spreads):.1f}% (max {100 * max(spreads):.1f}%) between medians.

{md_table(["op type", "n", "Keras s", "convert s", "verify s", "timing s", "per minute"], rows)}
"""
    save("build", {"phases": {op: {k: list(v) for k, v in p.items()} for op, p in phases.items()},
                   "import_s": import_s, "spreads": spreads}, md)  # fmt: skip


if __name__ == "__main__":
    main()
