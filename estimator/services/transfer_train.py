"""Train a published phone's CPU profile (``phone/<phone>/cpu-<cores>``) by transfer from this
machine's trained host estimator (:mod:`..learn.transfer`), and score it the honest way:
every model predicted by a transfer fitted without its family."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np

from ..db import Database
from ..errors import LetiError
from ..learn import transfer as tl
from ..learn.metrics import scores
from ..ops import GROUPED_CONV
from ..predict.composition import op_class
from ..predict.transfer_estimator import TransferEstimator

MIN_MODELS = 6


def base_estimator(db: Database):
    """The host estimator transfers start from: this machine's, one thread, trained."""
    from ..devices import DeviceSpec
    from ..predict.store import NoEstimator
    from .estimate import load_estimator

    try:
        return load_estimator(DeviceSpec.parse("host"), db)
    except NoEstimator:
        raise LetiError(
            "a phone's CPU is learned by transfer from this machine's host estimator, which is "
            "not trained yet",
            "run 'leti db build --device host --suite default' and 'leti train --device host' "
            "first",
        ) from None


def transfer_rows(db: Database, device_id: str, base) -> tuple[list, list, list, list, list]:
    """(models, their columns from the host's estimates, phone ms, families, FLOPs)."""
    from .. import zoo

    names, rows, measured, families, flops = [], [], [], [], []
    for r in db.model_times(device_id):
        if not zoo.has_skeleton(r["model"]):
            continue
        est = base.predict(zoo.graph(r["model"]))
        by_class: dict[str, float] = defaultdict(float)
        gflop: dict[str, float] = defaultdict(float)
        compute, act, patch, grouped_flops, grouped_ms = 0, 0, 0, 0, 0.0
        for n in est.nodes:
            if n.source == "free":
                continue
            act += n.act_bytes  # the phone runs what the host fuses away (learn.transfer)
            if n.source == "fused":
                continue
            patch += n.patch_bytes
            cls = op_class(n.op)
            if n.kind == GROUPED_CONV:  # priced apart where there is evidence (learn.transfer)
                grouped_flops += n.flops
                grouped_ms += n.ms
            else:
                by_class[cls] += n.ms
                gflop[cls] += n.flops / 1e9
            compute += cls in tl.NODE_COST_CLASSES  # grouped ones are convolutions
        names.append(r["model"])
        rows.append(
            tl.model_columns(
                by_class, compute, act / 1e6, grouped_flops / 1e9, grouped_ms, gflop, patch / 1e6
            )
        )
        measured.append(r["mean_us"] / 1000)
        families.append(zoo.family(r["model"]))
        flops.append(float(est.nodes and sum(n.flops for n in est.nodes)))
    return names, rows, measured, families, flops


def evaluate_transfer(
    names: list[str],
    rows: list[dict[str, float]],
    measured: list[float],
    families: list[str],
    flops: list[float],
) -> dict[str, Any]:
    """Every model predicted without its family, by the transfer (its form chosen again on
    the other families) and by two baselines fitted on the same folds: FLOPs-proportional
    and the host's total times the median phone/host ratio."""
    y = np.asarray(measured)
    # the host's total: its "all" leaves out what the transfer prices from its own size
    host = np.array([r["all"] + r["depthwise"] + r.get("grouped_ms", 0.0) for r in rows])
    f = np.asarray(flops, float)
    held, ratio, per_flop = np.zeros(len(y)), np.zeros(len(y)), np.zeros(len(y))
    fam = np.array(families)
    for name in sorted(set(families)):
        test, train = fam == name, fam != name
        tr = [i for i in range(len(y)) if train[i]]
        tr_rows = [rows[i] for i in tr]
        form, _ = tl.choose(tr_rows, y[train], fam[train])
        X = tl._design(rows, tl.columns_of(form, tr_rows))
        coef = tl._solve(X[train], y[train])
        held[test] = np.maximum(coef[0] + X[test] @ coef[1:], 1e-9)
        ratio[test] = host[test] * np.median(y[train] / host[train])
        per_flop[test] = f[test] * np.median(y[train] / f[train])
    resid = np.log(y / held)
    inside = []
    for name in sorted(set(families)):
        lo, hi = np.quantile(resid[fam != name], [0.05, 0.95])
        inside += list((resid[fam == name] >= lo) & (resid[fam == name] <= hi))
    return {
        "coverage_90": float(np.mean(inside) * 100),
        "protocol": "leave one model family out (the zoo module that defines it): the "
        "transfer's form and scales fitted without it",
        "families": len(set(families)),
        "models": [
            {
                "model": n,
                "family": g,
                "measured_ms": m,
                "predicted_ms": p,
                "error_pct": (p - m) / m * 100,
            }
            for n, g, m, p in zip(names, families, y, held, strict=True)
        ],
        "scores": {
            "leti": scores(list(y), list(held)),
            "host-total-x-median-ratio": scores(list(y), list(ratio)),
            "flops-proportional": scores(list(y), list(per_flop)),
        },
    }


def train_transfer(
    db: Database, device_id: str, log: Callable[[str], None] | None = None
) -> tuple[TransferEstimator, dict[str, Any]]:
    say = log or (lambda _m: None)
    start = time.time()
    base = base_estimator(db)
    names, rows, measured, families, flops = transfer_rows(db, device_id, base)
    if len(names) < MIN_MODELS or len(set(families)) < 3:
        raise LetiError(
            f"{device_id} has {len(names)} models of {len(set(families))} families with a "
            "shipped graph: too few to learn a transfer (needs 6 of 3)",
            "import the phone's measurements: 'leti db import ../shared/data/mobile-ml-benchmark'",
        )
    t = tl.fit(rows, measured, families)
    ev = evaluate_transfer(names, rows, measured, families, flops)
    s = ev["scores"]["leti"]
    say(
        f"{device_id}: {t.form} from {base.device_id}; each model left out by family: "
        f"within ±10% {s['within_10']:.0f}%, MAPE {s['mape']:.1f}%"
    )
    est = TransferEstimator(device_id, base, t)
    report = {
        "device": device_id,
        "kind": "transfer",
        "base": base.device_id,
        "samples": len(names),
        "networks": len(names),
        "op_types": [],
        "composition": {
            "form": t.form,
            "columns": t.columns,
            "coef": t.coef,
            "overhead_ms": t.overhead_ms,
            **t.report,
        },
        "evaluation": ev,
        "seconds": time.time() - start,
    }
    return est, report
