"""Do the regressors know thin feature maps (1-7 channels at large resolutions)?

The default suite's plain draws almost never put an op on a thin map, yet SIMD kernels
vectorise over channels, so there an op costs per pixel rather than per element. The suite
now adds such draws (``THIN_COUNTS`` in estimator/generate/suites.py, source ``thin``). On a
home that measured them, for every op kind:

1. *without*: its regressor fitted on the other rows only, predicting every thin row (what an
   estimator without the thin part says of them: out of sample);
2. *with*: fitted on the other rows and half of the thin rows (every other one), predicting
   the other half, and the other way round (out of sample too).

    python3 bench/thin_maps.py --home DIR [--name thin_maps]

Reads what is stored; times nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import md_table, save  # noqa: E402


def rows_by_kind(device_id: str) -> dict[str, tuple[list[dict], list[dict]]]:
    """(other rows, thin rows) of every op kind, normalised as training reads them."""
    from leti.estimator.db import open_db
    from leti.estimator.services import train as T

    _, _, rows, _ = T.learnable(open_db(), device_id)
    out: dict[str, tuple[list[dict], list[dict]]] = defaultdict(lambda: ([], []))
    for r in rows:
        out[r["op_type"]][r.get("source") == "thin"].append(r)
    return {k: v for k, v in out.items() if v[1]}


def ratios(model, rows: list[dict]) -> list[float]:
    """Predicted / measured of each row."""
    from leti.estimator.features import from_table, table

    X = from_table(table([r["features"] for r in rows]))
    pred = np.exp(model.model.predict(X))
    return list(pred / np.array([r["median_ms"] for r in rows]))


def score(r: list[float]) -> dict[str, float]:
    a = np.array(r)
    return {
        "n": len(a),
        "mape": float(np.mean(np.abs(a - 1)) * 100),
        "within_10": float(np.mean(np.abs(a - 1) <= 0.10) * 100),
        "within_25": float(np.mean(np.abs(a - 1) <= 0.25) * 100),
        "median_ratio": float(np.median(a)),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", required=True, help="LETI_HOME whose build timed the thin part")
    ap.add_argument("--device", default=None, help="profile id (default: this host, 1 thread)")
    ap.add_argument("--name", default="thin_maps")
    a = ap.parse_args()
    os.environ["LETI_HOME"] = a.home
    from leti.estimator.devices import DeviceSpec, profile_id
    from leti.estimator.learn.op_models import fit_op_type

    device_id = a.device or profile_id(DeviceSpec.parse("host"))
    kinds = rows_by_kind(device_id)
    if not kinds:
        sys.exit(f"{a.home}: no thin rows for {device_id}; build the default suite there first")
    per_kind, every_without, every_with = {}, [], []
    for op, (other, thin) in sorted(kinds.items()):
        base, _ = fit_op_type(op, other)
        without = ratios(base, thin)
        with_half: list[float] = []
        for k in (0, 1):
            model, _ = fit_op_type(op, other + thin[1 - k :: 2])
            with_half += ratios(model, thin[k::2])
        per_kind[op] = {"without": score(without), "with": score(with_half)}
        every_without += without
        every_with += with_half
        print(f"{op}: {len(thin)} thin rows", flush=True)
    total = {"without": score(every_without), "with": score(every_with)}
    rows = [
        [op, s["without"]["n"], s["without"]["median_ratio"], s["without"]["mape"],
         s["without"]["within_10"], s["with"]["median_ratio"], s["with"]["mape"],
         s["with"]["within_10"]]
        for op, s in [*per_kind.items(), ("all", total)]
    ]  # fmt: skip
    md = (
        f"### Thin feature maps on {device_id}, out of sample\n\n"
        "Each op kind's thin rows (1-7 channels, 32-256 px), predicted by its regressor fitted "
        "*without* any thin row, and *with* the other half of them.\n\n"
        + md_table(
            [
                "op kind",
                "thin rows",
                "without: median pred/meas",
                "MAPE %",
                "±10 %",
                "with half: median pred/meas",
                "MAPE %",
                "±10 %",
            ],
            rows,
        )  # fmt: skip
    )
    save(a.name, {"home": a.home, "device": device_id, "per_kind": per_kind, "all": total}, md)
    print(md)


if __name__ == "__main__":
    main()
