"""Score the estimator (and the baselines) on models measured end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .baselines import ConvOnly, FlopsProportional
from .calibration import device_id_for, get_estimator
from .db import Database
from .graph import read_model
from .training import error_metrics


def scores(measured: list[float], predicted: list[float]) -> dict[str, float]:
    from scipy.stats import spearmanr

    m = error_metrics(np.array(measured), np.array(predicted))
    m["spearman"] = (
        float(spearmanr(measured, predicted).statistic) if len(measured) > 2 else float("nan")
    )
    return m


def evaluate(
    db: Database,
    models: list[str],
    device: str = "host",
    threads: int = 1,
    delegate: str = "gpu",
    remeasure: bool = False,
    baselines: bool = False,
    binary: str | None = None,
) -> dict[str, Any]:
    device_id = device_id_for(device, db, threads, delegate)
    est = get_estimator(db, device, threads, delegate)
    graphs = [read_model(m) for m in models]
    recorded = {r["model_sha256"]: r for r in db.model_measurements(device_id)}
    dev = None
    measured = []
    for path, g in zip(models, graphs, strict=True):
        row = recorded.get(g.sha256)
        if row is None or remeasure:
            from .build import record_model_measurement
            from .devices import open_device

            if dev is None:
                dev = open_device(device, threads=threads, delegate=delegate, binary=binary)
                dev.check()
            data = Path(path).read_bytes()
            t = dev.measure(data)
            record_model_measurement(db, dev.profile, data, t, name=Path(path).name, kind="user")
            measured.append(t.median_ms)
        else:
            measured.append(row["median_ms"])
    predicted = [p.total_ms for p in est.predict_many(graphs)]
    out: dict[str, Any] = {
        "device": device_id,
        "models": [
            {
                "model": m,
                "measured_ms": a,
                "predicted_ms": b,
                "error_pct": (b - a) / a * 100,
                "operators": len(g.nodes),
                "sha256": g.sha256,
            }
            for m, g, a, b in zip(models, graphs, measured, predicted, strict=True)
        ],  # fmt: skip
        "scores": {"leti": scores(measured, predicted)},
    }
    if baselines:
        from .build import measured_networks

        nets = measured_networks(db, device_id)
        for b in (FlopsProportional().fit(db, device_id, nets), ConvOnly().fit(db, device_id)):
            preds = [b.predict_total(g) for g in graphs]
            out["scores"][b.name] = scores(measured, preds)
            for m, p in zip(out["models"], preds, strict=True):
                m[f"{b.name}_ms"] = p
    return out
