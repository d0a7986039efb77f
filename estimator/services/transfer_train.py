"""Train a published phone's CPU profile (``phone/<phone>/cpu-<cores>``) by transfer from this
machine's trained host estimator (:mod:`..learn.transfer`), and score it the honest way:
every model predicted by a transfer fitted without its family."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..db import Database
from ..errors import LetiError
from ..learn import transfer as tl
from ..learn.metrics import scores
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
        # the same rule the carried estimate prices node by node with (learn.transfer)
        rows.append(tl.nodes_row(est.nodes))
        names.append(r["model"])
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
    """Every model predicted without its family, by the transfer fitted on the other
    families and by two baselines fitted on the same folds: FLOPs-proportional
    and the host's total times the median phone/host ratio."""
    y = np.asarray(measured)
    # the host's total: its "all" leaves out what the transfer prices from its own size
    host = np.array([r["all"] + r["depthwise"] + r.get("grouped_ms", 0.0) for r in rows])
    f = np.asarray(flops, float)
    held = tl.cross_validate(rows, y, families)  # the transfer fitted without each family
    ratio, per_flop = np.zeros(len(y)), np.zeros(len(y))
    fam = np.array(families)
    for name in sorted(set(families)):
        test, train = fam == name, fam != name
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
