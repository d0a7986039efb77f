"""Train a device's estimator from its measurements: per-op-type model selection by
cross-validation, the analytic throughput fit, and the whole-network correction."""

from __future__ import annotations

import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np

from . import throughput as tp
from .db import Database
from .errors import LetiError
from .features import matrix
from .latency import (
    CACHE_MB,
    SPILL_MODES,
    THIN_KEYS,
    THIN_SETS,
    Correction,
    LatencyEstimator,
    OpModel,
)
from .regressors import candidates

MIN_SAMPLES = 2


def error_metrics(measured: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """MAPE, share within +-5% / +-10%, and R^2 (in ms), the figures every report uses."""
    measured, predicted = np.asarray(measured, float), np.asarray(predicted, float)
    rel = np.abs(predicted - measured) / measured
    ss_res = float(np.sum((measured - predicted) ** 2))
    ss_tot = float(np.sum((measured - measured.mean()) ** 2))
    return {
        "mape": float(rel.mean() * 100),
        "within_5": float((rel <= 0.05).mean() * 100),
        "within_10": float((rel <= 0.10).mean() * 100),
        "r2": 1 - ss_res / ss_tot if ss_tot > 0 else None,
        "n": int(len(measured)),
    }


def _cv_predictions(model: Any, X: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    """Held-out log-predictions for every row (5-fold, or leave-one-out when rows are few)."""
    from sklearn.base import clone
    from sklearn.model_selection import KFold, LeaveOneOut

    n = len(y)
    if n < 4:
        return None
    splitter = KFold(5, shuffle=True, random_state=0) if n >= 10 else LeaveOneOut()
    out = np.zeros(n)
    for train, test in splitter.split(X):
        out[test] = clone(model).fit(X[train], y[train]).predict(X[test])
    return out


def fit_op_type(op: str, rows: list[dict[str, Any]]) -> tuple[OpModel, dict[str, Any]]:
    X = matrix([r["features"] for r in rows])
    y = np.log(np.array([r["median_ms"] for r in rows]))
    report: dict[str, Any] = {"op": op, "samples": len(rows), "candidates": {}}
    best_name, best_pred, best_mape = None, None, float("inf")
    for name, model in candidates(len(rows)).items():
        pred = _cv_predictions(model, X, y)
        if pred is None:
            best_name = name
            break
        m = error_metrics(np.exp(y), np.exp(pred))
        report["candidates"][name] = m
        if m["mape"] < best_mape:
            best_name, best_pred, best_mape = name, pred, m["mape"]
    assert best_name is not None
    final = candidates(len(rows))[best_name].fit(X, y)
    if best_pred is not None:
        resid = y - best_pred
        q10, q90 = (float(v) for v in np.quantile(resid, [0.1, 0.9]))
        metrics = report["candidates"][best_name]
    else:  # too few rows to hold any out: an honest, wide interval and no metrics
        q10, q90 = -0.5, 0.5
        metrics = {"mape": None, "within_5": None, "within_10": None, "r2": None, "n": len(rows)}
    report["chosen"] = best_name
    report["metrics"] = metrics
    return OpModel(op, best_name, final, len(rows), metrics, min(q10, 0.0), max(q90, 0.0)), report


def fit_throughput(rows: list[dict[str, Any]]) -> tp.Throughput:
    f = [r["features"]["flops"] for r in rows]
    b = [
        r["features"]["bytes_in"] + r["features"]["bytes_w"] + r["features"]["bytes_out"]
        for r in rows
    ]
    return tp.fit(np.array(f), np.array(b), np.array([r["median_ms"] for r in rows]))


def fit_correction(
    est: LatencyEstimator, networks: list[tuple[Any, float]], floor_ms: float = 0.0
) -> Correction:
    """Fit :class:`Correction` in relative error; which optional terms (thin-node scale,
    weight spill and its cache size) it keeps is decided by leave-one-out over the networks.

    ``per_node`` may be negative down to ``-floor_ms`` (the fastest single-op measurement):
    every single-op timing carries one call into the runtime that a whole network pays once,
    so summing hundreds of tiny ops overcounts, but never by more than the fastest op took."""
    from scipy.optimize import lsq_linear

    if not networks:
        return Correction()
    terms = [est.raw_terms(graph) for graph, _ in networks]
    M = np.array([ms for _, ms in networks])
    S = np.array([t["sum"] for t in terms])
    N = np.array([t["nodes"] for t in terms])
    T = {k: np.array([t[f"thin:{k}"] for t in terms]) for k in THIN_KEYS}
    W = {
        (m, c): np.array([t[f"spill:{m}:{c:g}"] for t in terms])
        for m in SPILL_MODES
        for c in CACHE_MB
    }
    before = float(np.mean(np.abs(S - M) / M) * 100)
    if len(M) < 8:  # few networks: a scale alone is all they can support
        scale = float(np.median(M / S))
        c = Correction(0.0, scale, 0.0, len(M), terms=["scale"])
        c.mape_before = before
        c.mape_after = float(np.mean(np.abs(scale * S - M) / M) * 100)
        return c

    def design(thin: tuple[str, ...], spill: tuple[str, float] | None) -> np.ndarray:
        # columns: invoke, per node, scale, spill, then one extra scale per thin op set member
        cols = [np.ones(len(M)), N, S]
        cols.append(W[spill] if spill is not None else np.zeros(len(M)))
        cols += [T[k] for k in thin]
        return np.column_stack(cols)

    def solve(X: np.ndarray, keep: np.ndarray) -> np.ndarray:
        A = X[keep] / M[keep, None]
        lower = [0.0, -floor_ms] + [0.0] * (X.shape[1] - 2)
        return lsq_linear(A, np.ones(keep.sum()), bounds=(lower, np.inf)).x

    def loo(X: np.ndarray) -> np.ndarray:
        out = []
        for i in range(len(M)):
            keep = np.ones(len(M), bool)
            keep[i] = False
            out.append(np.log(M[i] / max(float(X[i] @ solve(X, keep)), 1e-9)))
        return np.array(out)

    options = [(thin, spill) for thin in ((), *THIN_SETS) for spill in (None, *W)]
    scored = {opt: loo(design(*opt)) for opt in options}
    best = min(options, key=lambda o: float(np.mean(np.abs(np.expm1(scored[o])))))
    X = design(*best)
    coef = solve(X, np.ones(len(M), bool))
    inv, per_node, scale, spill = coef[:4]
    c = Correction(float(inv), float(scale), float(per_node), len(M))
    c.thin_scales = {k: float(v) for k, v in zip(best[0], coef[4:], strict=True)}
    c.terms = ["invoke", "per node", "scale"] + [f"thin {k}" for k in best[0]]
    if best[1] is not None:
        c.spill_mode, c.cache_mb = best[1]
        c.spill_ms_per_mb = float(spill)
        c.terms.append(f"weight spill over {c.cache_mb:g} MB ({c.spill_mode})")
    c.log_q10, c.log_q90 = (float(v) for v in np.quantile(scored[best], [0.1, 0.9]))
    c.mape_before = before
    c.mape_after = float(np.mean(np.abs(X @ solve(X, np.ones(len(M), bool)) - M) / M) * 100)
    return c


def data_hash(rows: list[dict[str, Any]], nets: list[dict[str, Any]]) -> str:
    h = hashlib.sha256()
    for r in rows:
        h.update(f"{r['config_key']}:{r['median_ms']!r};".encode())
    for n in nets:
        h.update(f"{n['model_sha256']}:{n['median_ms']!r};".encode())
    return h.hexdigest()[:16]


def train(
    db: Database,
    device_id: str,
    log: Callable[[str], None] | None = None,
) -> tuple[LatencyEstimator, dict[str, Any]]:
    """Fit every op type measured on ``device_id``; returns the estimator and a report."""
    say = log or (lambda _msg: None)
    rows = [r for r in db.measurements(device_id) if r["features"] and r["median_ms"]]
    if not rows:
        raise LetiError(
            f"no measurements for device {device_id}",
            f"run 'leti db build --device {_cli_device(device_id)} --suite default' first",
        )
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
    thr = fit_throughput(rows)
    device = db.device(device_id) or {}
    gpu = device.get("delegate") == "gpu"
    est = LatencyEstimator(device_id, op_models, thr, gpu=gpu)
    from .build import measured_networks

    nets = db.model_measurements(device_id, kind="generated")
    pairs = measured_networks(db, device_id, say)
    floor = min(r["median_ms"] for r in rows)
    est.correction = fit_correction(est, pairs, floor_ms=floor)
    c = est.correction
    if c.networks:
        extra = "".join(f", thin {k} x{c.scale + v:.2f}" for k, v in c.thin_scales.items())
        if c.cache_mb is not None:
            extra += (
                f", {c.spill_ms_per_mb:.4f} ms per MB of weights beyond {c.cache_mb:g} MB"
                f" ({c.spill_mode})"
            )
        say(
            f"whole-network correction on {c.networks} networks: scale {c.scale:.3f}{extra}, "
            f"invoke {c.invoke_ms:.4f} ms, per node {c.per_node_ms:.4f} ms; "
            f"MAPE {c.mape_before:.1f}% -> {c.mape_after:.1f}%"
        )
    report = {
        "device": device_id,
        "op_types": reports,
        "throughput": thr.to_dict(),
        "correction": c.__dict__,
        "samples": len(rows),
        "networks": c.networks,
        "seconds": time.time() - start,
        "data_hash": data_hash(rows, nets),
        "analytic_only": sorted(op for op in by_op if op not in op_models),
    }
    est.metadata = {"report": json.loads(json.dumps(report, default=float))}
    return est, report


def _cli_device(device_id: str) -> str:
    if device_id.startswith("host/"):
        return "host"
    if device_id.startswith("adb/"):
        return "adb:" + device_id.split("/")[1].rsplit("-", 1)[-1]
    return device_id
