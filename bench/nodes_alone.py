"""Node by node: each op of a model cut out and timed alone, against each home's single-op
estimate of it; and the whole model against the sum of its ops alone.

The viewer shows every node's time, which the frozen set's whole-model scores never check.
Here each computing node (custom ops included) is extracted with its real weights
(``generate.extract``), timed alone on the host as a build times a single op, and compared
with the per-node single-op prediction (before the composition) of every ``--home``; nodes are
split into thin ones (fewer than 8 channels in or out) and the rest. The model is also timed
whole, alternating with nothing else, so that what it pays beyond its ops alone shows.
A diagnostic: nothing here is training data, and the frozen set's scores do not use it.

    python3 bench/nodes_alone.py --model PATH --home LABEL=DIR [--home ...] [--name NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import md_table, save  # noqa: E402

# Run in each home's own process (an estimator is found through LETI_HOME).
PREDICT = """
import json, sys
from leti.estimator.devices import DeviceSpec, profile_id
from leti.estimator.features import graph_columns
from leti.estimator.graph import read_model
from leti.estimator.predict.batch import batch_of
from leti.estimator.predict.store import load
g = read_model(sys.argv[1])
raw = load(profile_id(DeviceSpec.parse("host"))).raw(batch_of([graph_columns(g)]))
print(json.dumps({n.key: float(raw.ms[i]) for i, n in enumerate(g.nodes)}))
"""


def time_alone(path: Path, runs: int) -> tuple[dict[str, dict], float]:
    """Every computing node timed alone (ms, op, thin), and the whole model's median (ms)."""
    from leti.estimator.devices.host import HostDevice
    from leti.estimator.generate.extract import extract_ops
    from leti.estimator.graph import read_model

    data, graph = path.read_bytes(), read_model(path)
    nodes = [n for n in graph.nodes if n.role in ("compute", "custom")]
    cut = extract_ops(data, graph, nodes)
    device = HostDevice(threads=1)
    out = {}
    for n in nodes:
        if n.key not in cut:
            continue
        channels = [t.shape[-1] for t in (n.inputs[:1] + n.outputs[:1]) if t.shape]
        out[n.key] = {
            "op": n.op,
            "ms": device.measure(cut[n.key], runs=runs).median_ms,
            "thin": any(0 < c < 8 for c in channels),
        }
        print(f"{n.key} {n.op}: {out[n.key]['ms'] * 1000:.1f} µs alone", flush=True)
    whole = min(device.measure(data, runs=runs).median_ms for _ in range(3))
    return out, whole


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--home", action="append", required=True, help="LABEL=LETI_HOME")
    ap.add_argument("--runs", type=int, default=200, help="timed runs per node")
    ap.add_argument("--name", default=None, help="results name (default: nodes_alone_MODEL)")
    a = ap.parse_args()
    path = Path(a.model).resolve()
    alone, whole = time_alone(path, a.runs)
    summed = sum(v["ms"] for v in alone.values())
    rows, homes = [], {}
    for spec in a.home:
        label, _, home = spec.partition("=")
        done = subprocess.run([sys.executable, "-c", PREDICT, str(path)], check=True,
                              capture_output=True, text=True, env={**os.environ, "LETI_HOME": home})  # fmt: skip
        pred = json.loads(done.stdout.strip().splitlines()[-1])
        homes[label] = {"home": home}
        for part, thin in (("thin nodes", True), ("other nodes", False)):
            keys = [k for k, v in alone.items() if v["thin"] is thin]
            if not keys:
                continue
            r = np.array([pred[k] / alone[k]["ms"] for k in keys])
            s = {
                "nodes": len(keys),
                "median_ratio": float(np.median(r)),
                "within_10": float(np.mean(np.abs(r - 1) <= 0.10) * 100),
                "within_25": float(np.mean(np.abs(r - 1) <= 0.25) * 100),
                "sum_ratio": sum(pred[k] for k in keys) / sum(alone[k]["ms"] for k in keys),
            }
            homes[label][part] = s
            rows.append([label, part, s["nodes"], s["median_ratio"], s["within_10"],
                         s["within_25"], s["sum_ratio"]])  # fmt: skip
    md = (
        f"### Node by node: {path.name}, each op timed alone against its single-op estimate\n\n"
        f"Whole model {whole:.3g} ms (best of 3 medians); its {len(alone)} computing ops timed "
        f"alone sum to {summed:.3g} ms (whole / sum {whole / summed:.2f}).\n\n"
        + md_table(
            [
                "home",
                "nodes",
                "n",
                "median estimate / alone",
                "within ±10 %",
                "within ±25 %",
                "Σ estimates / Σ alone",
            ],
            rows,
        )  # fmt: skip
    )
    save(
        a.name or f"nodes_alone_{path.stem}",
        {"model": path.name, "whole_ms": whole, "sum_alone_ms": summed, "alone": alone,
         "homes": homes},
        md,
    )  # fmt: skip
    print(md)


if __name__ == "__main__":
    main()
