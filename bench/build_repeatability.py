"""How repeatable a build's timings are on this machine, timed the way builds time them now
and the way they did before, in the same session.

A sample of the default suite's work items (single ops and generated networks, in plan order)
is timed in passes that alternate the two protocols, each protocol twice:

- **one burst**: each item alone in one adaptive burst (``HostDevice.measure``: runs until the
  median is stable, 0.1-1.5 s), its p10 kept: every build before 2026-12-06;
- **interleaved**: the items in windows, each timed in ``ROUNDS`` short bursts, round after
  round through the window (``services.measure.measure_interleaved``, the build's own window
  size, rounds and burst), the fastest round's p10 kept.

Each protocol's two passes are compared item by item: the share of items whose two timings
agree within ±2 %, ±5 % and ±10 %, the median and 90th-percentile gap, and seconds per pass.
A timing is also set against the fastest any pass saw for that item (how far above the
machine's quiet state it reads).

    python bench/build_repeatability.py [--ops 120] [--networks 16] [--seed 11]
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import alternate, md_table, save  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ops", type=int, default=120, help="single ops sampled from the suite")
    ap.add_argument("--networks", type=int, default=16, help="generated networks sampled")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--name", default="build_repeatability")
    a = ap.parse_args()

    from leti.estimator.devices.host import HostDevice
    from leti.estimator.services.build import make_plan, window_size
    from leti.estimator.services.measure import BURST, ROUNDS, measure_interleaved

    plan = make_plan("default")
    rng = random.Random(a.seed)
    ops = [i for i in plan.items if i.kind == "op"]
    nets = [i for i in plan.items if i.kind == "network" and i.op.startswith("network:")]
    order = {i.key: k for k, i in enumerate(plan.items)}
    items = sorted(
        rng.sample(ops, a.ops) + rng.sample(nets, a.networks), key=lambda i: order[i.key]
    )
    models = [i.make().data for i in items]
    device = HostDevice()
    size = window_size(device, len(plan.items))

    def one_burst() -> list[float]:
        return [device.measure(m).p10_ms for m in models]

    def interleaved() -> list[float]:
        out = []
        for k in range(0, len(models), size):
            for t in measure_interleaved(device, models[k : k + size]):
                if isinstance(t, Exception):
                    raise SystemExit(f"a suite item failed: {t}")
                out.append(t.p10_ms)
        return out

    protocols = {"one burst": one_burst, "interleaved": interleaved}
    timed, seconds = alternate(protocols)

    fastest = np.min(np.array([p for runs in timed.values() for p in runs]), axis=0)
    rows, out = [], {}
    for name, (first, second) in timed.items():
        gap = np.abs(np.log(np.array(first) / np.array(second)))
        above = np.log(np.array(first + second) / np.concatenate([fastest, fastest]))
        r = {
            "within_2": float(np.mean(gap <= np.log(1.02)) * 100),
            "within_5": float(np.mean(gap <= np.log(1.05)) * 100),
            "within_10": float(np.mean(gap <= np.log(1.10)) * 100),
            "median_gap_pct": float(np.median(gap) * 100),
            "p90_gap_pct": float(np.percentile(gap, 90) * 100),
            "seconds_per_pass": float(np.mean(seconds[name])),
            "median_above_fastest_pct": float(np.median(above) * 100),
            "share_above_fastest_by_5_pct": float(np.mean(above > np.log(1.05)) * 100),
        }
        out[name] = r
        rows.append([name, r["within_2"], r["within_5"], r["within_10"], r["median_gap_pct"],
                     r["p90_gap_pct"], r["median_above_fastest_pct"],
                     r["share_above_fastest_by_5_pct"], r["seconds_per_pass"]])  # fmt: skip
    md = f"""
### Build timings timed twice: one burst per item against interleaved rounds

{len(items)} work items of the `default` suite ({a.ops} single ops, {a.networks} generated
networks, seed {a.seed}), each protocol run twice, the passes alternating. Interleaved:
windows of {size} items, {ROUNDS} rounds, bursts of at least {BURST.min_runs} runs and
{BURST.min_s * 1000:g} ms, at most {BURST.max_s * 1000:g} ms. Gaps are between an item's two
timings under one protocol (log ratio, %); "above fastest" against the fastest p10 any pass
saw for the item.

{md_table(["protocol", "within ±2 %", "within ±5 %", "within ±10 %", "median gap %",
           "p90 gap %", "median above fastest %", "above fastest by > 5 %, share",
           "s per pass"], rows)}
"""  # fmt: skip
    save(a.name, {"items": [i.key for i in items], "window": size, "rounds": ROUNDS,
                  "results": out, "timings": timed, "seconds": seconds}, md)  # fmt: skip


if __name__ == "__main__":
    main()
