"""Train a device's estimator from the database: per-op regressors, the analytic throughput,
and the whole-network correction; refuse when the data are too few to call the result
calibrated."""

from __future__ import annotations

import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from ..db import Database
from ..devices.base import cli_args_for_id
from ..errors import LetiError
from ..learn.composition import fit_correction
from ..learn.op_models import MIN_SAMPLES, fit_op_type
from ..learn.throughput import fit as fit_throughput
from ..predict.estimator import LatencyEstimator, OpModel
from ..tflite import ModelGraph, read_model
from ..tflite.skeleton import restore

# Below these a "trained" estimator would be a guess with a narrow interval: the smoke suite
# (37 single ops of 22 types, 3 networks) is the least that is accepted.
MIN_MEASUREMENTS = 30
MIN_NETWORKS = 3


class TooLittleData(LetiError):
    """The device has too few measurements for a calibrated estimator."""


def usable_rows(db: Database, device_id: str) -> list[dict[str, Any]]:
    return [r for r in db.measurements(device_id) if r["features"] and r["median_ms"]]


def measured_networks(
    db: Database, device_id: str, say: Callable[[str], None] | None = None
) -> list[tuple[ModelGraph, float]]:
    """The generated networks measured on a device, read back from their stored skeletons
    (nothing is regenerated), with their measured ms."""
    out = []
    for n in db.model_measurements(device_id, kind="generated"):
        try:
            out.append((read_model(restore(n["graph"]), n["name"]), n["median_ms"]))
        except Exception as exc:  # no skeleton (an older database) or an unreadable one
            if say:
                say(f"network {n['name']} left out: {type(exc).__name__}: {exc}")
    return out


def check_enough(device_id: str, rows: list[dict[str, Any]], networks: int) -> None:
    if len(rows) >= MIN_MEASUREMENTS and networks >= MIN_NETWORKS:
        return
    args = cli_args_for_id(device_id)
    raise TooLittleData(
        f"{device_id} has {len(rows)} single-op measurements and {networks} whole networks: "
        f"too few to train a calibrated estimator (needs {MIN_MEASUREMENTS} and {MIN_NETWORKS})",
        f"run 'leti db build {args} --suite default' first",
    )


def train(
    db: Database, device_id: str, log: Callable[[str], None] | None = None
) -> tuple[LatencyEstimator, dict[str, Any]]:
    """Fit every op type measured on ``device_id``; returns the estimator and a report."""
    say = log or (lambda _msg: None)
    rows = usable_rows(db, device_id)
    nets = db.model_measurements(device_id, kind="generated")
    check_enough(device_id, rows, len(nets))
    start = time.time()
    by_op: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_op[r["op_type"]].append(r)
    op_models: dict[str, OpModel] = {}
    reports = []
    for op, op_rows in sorted(by_op.items()):
        if len(op_rows) < MIN_SAMPLES:
            say(f"{op}: {len(op_rows)} sample(s), priced analytically")
            continue
        model, rep = fit_op_type(op, op_rows)
        op_models[op] = model
        reports.append(rep)
        m = rep["metrics"]
        cv = "too few to cross-validate" if m["mape"] is None else f"CV MAPE {m['mape']:.1f}%"
        say(f"{op}: {len(op_rows)} samples, {rep['chosen']}, {cv}")
    thr = fit_throughput(
        [r["features"]["flops"] for r in rows],
        [r["features"]["bytes_in"] + r["features"]["bytes_w"] + r["features"]["bytes_out"]
         for r in rows],
        [r["median_ms"] for r in rows],
    )  # fmt: skip
    device = db.device(device_id) or {}
    est = LatencyEstimator(device_id, op_models, thr, gpu=device.get("delegate") == "gpu")
    pairs = measured_networks(db, device_id, say)
    est.correction = fit_correction(est, pairs, floor_ms=min(r["median_ms"] for r in rows))
    c = est.correction
    if c.networks:
        extra = "".join(f", thin {k} x{c.scale + v:.2f}" for k, v in c.thin_scales.items())
        if c.cache_mb is not None:
            extra += (f", {c.spill_ms_per_mb:.4f} ms per MB of weights beyond {c.cache_mb:g} MB"
                      f" ({c.spill_mode})")  # fmt: skip
        say(f"whole-network correction on {c.networks} networks: scale {c.scale:.3f}{extra}, "
            f"invoke {c.invoke_ms:.4f} ms, per node {c.per_node_ms:.4f} ms; "
            f"MAPE {c.mape_before:.1f}% -> {c.mape_after:.1f}%")  # fmt: skip
    report = {
        "device": device_id,
        "op_types": reports,
        "throughput": thr.to_dict(),
        "correction": c.__dict__,
        "samples": len(rows),
        "samples_by_op": {op: len(r) for op, r in by_op.items()},
        "networks": c.networks,
        "seconds": time.time() - start,
        "data_hash": data_hash(rows, nets),
        "analytic_only": sorted(op for op in by_op if op not in op_models),
    }
    est.metadata = {"report": json.loads(json.dumps(report, default=float))}
    return est, report


def data_hash(rows: list[dict[str, Any]], nets: list[dict[str, Any]]) -> str:
    h = hashlib.sha256()
    for r in rows:
        h.update(f"{r['config_key']}:{r['median_ms']!r};".encode())
    for n in nets:
        h.update(f"{n['model_sha256']}:{n['median_ms']!r};".encode())
    return h.hexdigest()[:16]


def train_and_save(
    db: Database, device_id: str, log: Callable[[str], None] | None = None
) -> tuple[dict[str, Any], str]:
    """Train and save, as ``leti train`` and the viewer's Retrain do; (report, saved path)."""
    from ..predict.store import save

    est, report = train(db, device_id, log)
    return report, str(save(est, report))
