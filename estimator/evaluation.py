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
    rounds: int = 3,
) -> dict[str, Any]:
    """Score the estimator on ``models``; those without a recorded measurement (or all, with
    ``remeasure``) are measured in ``rounds`` interleaved rounds and the median round kept."""
    device_id = device_id_for(device, db, threads, delegate)
    est = get_estimator(db, device, threads, delegate)
    graphs = [read_model(m) for m in models]
    recorded = {r["model_sha256"]: r for r in db.model_measurements(device_id)}
    todo = {i for i, g in enumerate(graphs) if remeasure or g.sha256 not in recorded}
    paths = [models[i] for i in sorted(todo)]
    fresh = _measure_rounds(db, paths, device, threads, delegate, binary, rounds) if todo else {}
    measured = [
        fresh[models[i]] if i in todo else recorded[g.sha256]["median_ms"]
        for i, g in enumerate(graphs)
    ]
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


def _measure_rounds(
    db: Database,
    paths: list[str],
    device: str,
    threads: int,
    delegate: str,
    binary: str | None,
    rounds: int,
) -> dict[str, float]:
    """Whole-model latency, robust to a shared machine's slow spells: every model is timed
    once per round, rounds run one after another, and the median of its round medians is
    recorded. (On the 2-core host one model's single timings ranged 8.9-12.7 ms in a minute.)"""
    from statistics import median

    from .build import record_model_measurement
    from .devices import open_device
    from .timing import Timing

    dev = open_device(device, threads=threads, delegate=delegate, binary=binary)
    dev.check()
    data = {p: Path(p).read_bytes() for p in paths}
    timings: dict[str, list[Timing]] = {p: [] for p in paths}
    for _ in range(max(rounds, 1)):
        for p in paths:
            timings[p].append(dev.measure(data[p]))
    out = {}
    for p, ts in timings.items():
        per_round = [t.median_ms for t in ts]
        t = Timing(
            median_ms=median(per_round),
            p10_ms=min(t.p10_ms or t.median_ms for t in ts),
            p90_ms=max(t.p90_ms or t.median_ms for t in ts),
            runs=sum(t.runs for t in ts),
            mean_ms=sum(t.mean_ms or t.median_ms for t in ts) / len(ts),
            extra={"round_medians_ms": per_round},
        )
        record_model_measurement(db, dev.profile, data[p], t, name=Path(p).name, kind="user")
        out[p] = t.median_ms
    return out
