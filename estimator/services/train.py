"""Train a device's estimator from the database: per-op regressors, the analytic throughput,
the runtime's fusion and delegation, and the network-level composition; refuse when the data
are too few to call the result calibrated."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..db import Database
from ..devices.base import cli_args_for_id
from ..errors import LetiError
from ..graph import ModelGraph, read_model
from ..graph.skeleton import restore
from ..learn.composition import Network
from ..learn.composition import fit as fit_composition
from ..learn.op_models import MIN_SAMPLES, fit_op_type
from ..learn.runtime import fit as fit_runtime
from ..learn.throughput import fit as fit_throughput
from ..predict.estimator import LatencyEstimator, OpModel
from . import drift

# Below these a "trained" estimator would be a guess with a narrow interval: the smoke suite
# (57 single ops of 44 types, 3 networks) is the least that is accepted.
MIN_MEASUREMENTS = 30
MIN_NETWORKS = 3
# Training times nothing, so it may use every core (a 2-core machine: both); below
# PARALLEL_FROM single-op rows (the smoke suite) starting worker processes costs more than it saves.
WORKERS = max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                       else os.cpu_count() or 1))  # fmt: skip
PARALLEL_FROM = 500


class TooLittleData(LetiError):
    """The device has too few measurements for a calibrated estimator."""


def measured_networks(
    db: Database, device_id: str, say: Callable[[str], None] | None = None, fast: bool = False
) -> list[tuple[ModelGraph, float, str]]:
    """The generated networks measured on a device, read back from their stored skeletons
    (nothing is regenerated), with their measured ms (their p10 with ``fast``: :func:`learned`)
    and family."""

    def read(n: dict[str, Any]) -> ModelGraph | Exception:
        try:
            return read_model(restore(n["graph"]), n["name"])
        except Exception as exc:  # no skeleton (an older database) or an unreadable one
            return exc

    rows = learned(db.model_measurements(device_id, kind="generated"), fast)
    # inflating a skeleton (graph.skeleton) runs outside the GIL, so threads share the reading
    # (order kept): 425 networks of the default suite 19 s -> 7-11 s on 2 cores (2026-12-03)
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        graphs = list(pool.map(read, rows))
    out = []
    for n, graph in zip(rows, graphs, strict=True):
        if isinstance(graph, Exception):
            if say:
                say(f"network {n['name']} left out: {type(graph).__name__}: {graph}")
            continue
        out.append((graph, n["median_ms"], (n["spec"] or {}).get("family", "unknown")))
    return out


def composition_networks(
    db: Database,
    device_id: str,
    est: LatencyEstimator,
    nets: list[dict[str, Any]],
    fast: bool = False,
    say: Callable[[str], None] | None = None,
) -> list[Network]:
    """The measured networks as the composition is fitted on them: each priced node by node
    by ``est``, its timing divided by its drift factor (``nets``: the device's networks with
    their factors, as :func:`learnable` or :func:`normalised` give them)."""
    drift_by_name = {n["name"]: n.get("drift", 1.0) for n in nets}
    return [
        Network(est.facts(g), ms / drift_by_name.get(g.path, 1.0), family)
        for g, ms, family in measured_networks(db, device_id, say, fast)
    ]


def learns_fast_decile(rows: list[dict[str, Any]], nets: list[dict[str, Any]]) -> bool:
    """Whether an estimator learns its timings' p10s (:func:`learned`): only where every
    single-op row and every network has one, as a host build's do. Otherwise (benchmark_model
    prints no p10; GPU kernels in context keep none) it learns medians throughout, never a mix
    of the two for its ops and its composition."""
    return bool(rows) and all(r.get("p10_ms") for r in [*rows, *nets])


def learned(rows: list[dict[str, Any]], fast: bool = True) -> list[dict[str, Any]]:
    """Rows as the estimator learns them: with ``fast``, ``median_ms`` holds each timing's p10
    (its median where it has none: the drift references keep only medians).

    The truth is the minimum of round p10s (:data:`.repeatability.TRUTH_STATISTIC`), the
    latency a shared machine's interference leaves alone; an estimator trained on medians
    predicts the latency under the build's load instead (on 2026-12-03 it over-predicted that
    truth by 8.8 % for the median model). Learning one timing's p10 brings it close; the
    truth, a minimum over rounds, can still sit a little below it. The drift factors that
    :func:`normalised` divides by are still ratios of the references' medians."""
    if not fast:
        return rows
    return [{**r, "median_ms": r["p10_ms"]} if r.get("p10_ms") else r for r in rows]


def normalised(refs: list[dict[str, Any]], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with their timings divided by the drift factor of their moment (kept as
    ``drift``), so a slow spell during a build does not teach the estimator slow ops."""
    out = []
    for r, f in zip(rows, drift.row_factors(refs, rows), strict=True):
        if f is None or not r.get("median_ms"):
            out.append(r)
        else:
            out.append({**r, "median_ms": r["median_ms"] / f, "drift": f})
    return out


def _fit_op_types(kinds: list[tuple[str, list[dict[str, Any]]]]) -> dict[str, Any]:
    """Every op kind's regressor. The kinds are independent: with enough rows they are fitted
    in worker processes, largest first (threads would hold each other up on the GIL); every
    fit is seeded, so the result is the one a single process gives (to rounding: workers cap
    OpenMP at their share of the cores)."""
    kinds = sorted(kinds, key=lambda k: -len(k[1]))
    if WORKERS > 1 and sum(len(r) for _, r in kinds) >= PARALLEL_FROM:
        from joblib import Parallel, delayed

        fitted = Parallel(n_jobs=WORKERS)(delayed(fit_op_type)(op, r) for op, r in kinds)
    else:
        fitted = [fit_op_type(op, r) for op, r in kinds]
    return {op: f for (op, _), f in zip(kinds, fitted, strict=True)}


def check_enough(device_id: str, rows: list[dict[str, Any]], networks: int) -> None:
    if len(rows) >= MIN_MEASUREMENTS and networks >= MIN_NETWORKS:
        return
    args = cli_args_for_id(device_id)
    raise TooLittleData(
        f"{device_id} has {len(rows)} single-op measurements and {networks} whole networks: "
        f"too few to train a calibrated estimator (needs {MIN_MEASUREMENTS} and {MIN_NETWORKS})",
        f"run 'leti db build {args} --suite default' first",
    )


def learnable(
    db: Database, device_id: str
) -> tuple[bool, list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """What training reads of a device: whether it learns the fast decile
    (:func:`learns_fast_decile`), its drift reference rows, and its single-op rows and
    generated networks, each in that statistic and divided by its drift factor."""
    raw_rows = db.usable_measurements(device_id)
    raw_nets = db.model_measurements(device_id, kind="generated")
    fast = learns_fast_decile(raw_rows, raw_nets)
    refs = db.measurements(device_id, reference=True)
    return (
        fast,
        refs,
        normalised(refs, learned(raw_rows, fast)),
        normalised(refs, learned(raw_nets, fast)),
    )


def train(
    db: Database, device_id: str, log: Callable[[str], None] | None = None
) -> tuple[LatencyEstimator, dict[str, Any]]:
    """Fit every op kind measured on ``device_id``, the runtime's fusion and delegation, and
    the network-level composition; returns the estimator and a report."""
    say = log or (lambda _msg: None)
    fast, refs, rows, nets = learnable(db, device_id)
    all_rows = learned(db.measurements(device_id), fast)
    check_enough(device_id, rows, len(nets))
    start = time.time()
    by_op: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_op[r["op_type"]].append(r)
    op_models: dict[str, OpModel] = {}
    reports = []
    fits = _fit_op_types([(op, r) for op, r in by_op.items() if len(r) >= MIN_SAMPLES])
    for op, op_rows in sorted(by_op.items()):
        if len(op_rows) < MIN_SAMPLES:
            say(f"{op}: {len(op_rows)} sample(s), priced analytically")
            continue
        model, rep = fits[op]
        op_models[op] = model
        reports.append(rep)
        m = rep["metrics"]
        cv = "too few to cross-validate" if m["mape"] is None else f"CV MAPE {m['mape']:.1f}%"
        say(f"{op}: {len(op_rows)} samples, {rep['chosen']}, {cv}")
    thr = fit_throughput(
        [r["features"]["flops"] for r in rows],
        [
            r["features"]["bytes_in"] + r["features"]["bytes_w"] + r["features"]["bytes_out"]
            for r in rows
        ],
        [r["median_ms"] for r in rows],
    )
    device = db.device(device_id) or {}
    gpu = device.get("delegate") == "gpu"
    runtime = fit_runtime(all_rows, nets, gpu)
    if runtime.fusion:
        pairs = (f"{k} (keeps {v * 100:.0f}%)" for k, v in sorted(runtime.fusion.items()))
        say("fused by the runtime: " + ", ".join(pairs))
    if runtime.middle:
        dearer = (f"{k} (x{v:.1f})" for k, v in sorted(runtime.middle.items()))
        say("dearer between two ops than alone: " + ", ".join(dearer))
    est = LatencyEstimator(device_id, op_models, thr, runtime=runtime)
    networks = composition_networks(db, device_id, est, nets, fast, say)
    est.composition = fit_composition(networks, min(r["median_ms"] for r in rows), gpu)
    c = est.composition
    rep = c.report
    if c.networks:
        cv = (
            f"; {rep['cv']}: MAPE {rep['cv_mape']:.1f}% (sum of single ops "
            f"{rep['mape_sum_of_single_ops']:.1f}%)"
            if "cv_mape" in rep
            else ""
        )
        say(f"composition on {c.networks} networks: {c.form}{cv}")
    factors = [r["drift"] for r in rows + nets if r.get("drift") is not None]
    report = {
        "device": device_id,
        "reference_ms": drift.baseline(refs),
        "drift": {
            "rows": len(factors),
            "min": min(factors, default=None),
            "max": max(factors, default=None),
        },
        "op_types": reports,
        "throughput": thr.to_dict(),
        "composition": rep,
        "runtime": {
            "fusion": runtime.fusion,
            "middle": runtime.middle,
            "support": runtime.support,
        },
        "samples": len(rows),
        "samples_by_op": {op: len(r) for op, r in by_op.items()},
        "networks": c.networks,
        "seconds": time.time() - start,
        "data_hash": data_hash(rows, nets),
        "timing": "p10" if fast else "median",  # what it learned (learns_fast_decile)
        "analytic_only": sorted(op for op in by_op if op not in op_models),
    }
    est.metadata = {"report": json.loads(json.dumps(report, default=float))}
    return est, report


def is_kernel_profile(db: Database, device_id: str) -> bool:
    """Its measurements are kernels inside whole models: a published phone, or a phone whose
    kernels were profiled over adb."""
    from ..devices.base import is_published

    if is_published(device_id):
        require_imported(db, device_id)
        return not is_transfer_profile(device_id)
    return db.time_counts().get(device_id, {}).get("kernels", 0) > 0


def require_imported(db: Database, device_id: str) -> None:
    """A published profile must be in the database: if not, say how to import it."""
    if db.device(device_id) is None:
        from .estimate import IMPORT_HINT

        raise LetiError(f"{device_id} was never imported", IMPORT_HINT)


def is_transfer_profile(device_id: str) -> bool:
    """A published phone's CPU: only end-to-end times, learned by transfer from the host."""
    from ..devices.base import is_published

    return is_published(device_id) and not device_id.endswith("/gpu")


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
    """Train and save, as ``leti train`` and the viewer's Retrain do; (report, saved path).
    A profile whose rows are kernels timed inside whole models (a published phone, a phone
    profiled over adb) gets a kernel estimator (:mod:`.kernel_train`)."""
    from ..learn.compile import compile_regressor
    from ..predict.store import save

    if is_transfer_profile(device_id):
        require_imported(db, device_id)
        from .transfer_train import train_transfer

        test, treport = train_transfer(db, device_id, log)
        return treport, str(save(test, treport))
    if is_kernel_profile(db, device_id):
        from .kernel_train import train_kernels

        kest, kreport, kfitted = train_kernels(db, device_id, log)
        return kreport, str(save(kest, kreport, fitted=kfitted))
    est, report = train(db, device_id, log)
    fitted = {kind: m.model for kind, m in est.op_models.items()}
    for m in est.op_models.values():  # what is predicted from now on is what is saved
        m.model = compile_regressor(m.model)
    return report, str(save(est, report, fitted=fitted))
