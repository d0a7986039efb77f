"""An architecture-search loop: generate candidates, score them all, keep the fastest.

    python bench/search_loop.py --home DIR [--count 10000] [--jobs 2]

Candidates come from ``search_space.py`` (written as .tflite bytes in memory by the
project's builder, in ``--jobs`` processes, 256 at a time: at a few MB each, ten thousand
would not fit in memory); each batch is scored with one ``predict_totals`` call on the
trained host estimator in DIR. Both times are printed: in a real search the candidates come
from the search itself, so the scoring time is what the estimator costs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search_space import candidate  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", required=True, help="LETI_HOME with a trained host estimator")
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    os.environ["LETI_HOME"] = args.home

    from leti.estimator.devices import DeviceSpec
    from leti.estimator.services.estimate import load_estimator

    est = load_estimator(DeviceSpec.parse("host"))
    built = scored = 0.0
    totals = np.zeros(0)
    best_model, chunk = b"", 256
    with Pool(args.jobs) as pool:
        for start in range(0, args.count, chunk):  # a few MB per candidate: never all at once
            t0 = time.perf_counter()
            models = pool.map(candidate, range(start, min(start + chunk, args.count)))
            t1 = time.perf_counter()
            got = est.predict_totals(models)
            scored += time.perf_counter() - t1
            built += t1 - t0
            if not len(totals) or got.min() < totals.min():
                best_model = models[int(got.argmin())]
            totals = np.concatenate([totals, got])
    print(f"built {len(totals)} candidates in {built:.1f} s ({args.jobs} processes)")
    print(f"scored {len(totals)} candidates in {scored:.2f} s "
          f"({len(totals) / scored:.0f} models/s, one process)")  # fmt: skip
    best = totals.argsort()[:5]
    print("fastest:", ", ".join(f"#{i} {totals[i]:.3f} ms" for i in best))
    closer = est.predict(best_model)  # the winner's per-node estimates
    slowest = closer.slowest(1)[0]
    print(f"#{best[0]}: {len(closer.nodes)} ops, slowest {slowest.op} {slowest.ms:.3f} ms")


if __name__ == "__main__":
    main()
