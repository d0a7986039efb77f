"""An architecture-search loop: generate candidates, score them all, keep the fastest.

    python bench/search_loop.py --home DIR [--count 10000] [--jobs 2]

Candidates come from ``search_space.py`` (written as .tflite bytes in memory by the
project's builder, in ``--jobs`` processes); scoring is one ``predict_totals`` call on the
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

    t0 = time.perf_counter()
    with Pool(args.jobs) as pool:
        models = pool.map(candidate, range(args.count), chunksize=64)
    built = time.perf_counter() - t0
    est = load_estimator(DeviceSpec.parse("host"))
    t0 = time.perf_counter()
    totals = est.predict_totals(models)
    scored = time.perf_counter() - t0
    print(f"built {len(models)} candidates in {built:.1f} s ({args.jobs} processes)")
    print(f"scored {len(models)} candidates in {scored:.2f} s "
          f"({len(models) / scored:.0f} models/s, one process)")  # fmt: skip
    best = totals.argsort()[:5]
    print("fastest:", ", ".join(f"#{i} {totals[i]:.3f} ms" for i in best))
    closer = est.predict(models[best[0]])  # the winner's per-node estimates
    slowest = closer.slowest(1)[0]
    print(f"#{best[0]}: {len(closer.nodes)} ops, slowest {slowest.op} {slowest.ms:.3f} ms")


if __name__ == "__main__":
    main()
