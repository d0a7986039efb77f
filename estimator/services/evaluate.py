"""``leti evaluate``: the truth (models measured end to end, in interleaved rounds, and
recorded), the predictions, and the scores, each its own step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..db import Database
from ..devices import DeviceSpec, open_device
from ..learn.baselines import ConvOnly, FlopsProportional
from ..learn.metrics import scores
from ..tflite import ModelGraph, read_model
from .estimate import load_estimator, resolve_profile
from .measure import measure_rounds, record_model_measurement


def truth(
    db: Database,
    spec: DeviceSpec,
    models: list[str],
    graphs: list[ModelGraph],
    remeasure: bool = False,
    rounds: int = 3,
    binary: str | None = None,
) -> list[float]:
    """Measured ms of each model: recorded, or (all with ``remeasure``) timed now in
    ``rounds`` interleaved rounds and recorded for next time."""
    device_id = resolve_profile(spec, db)
    recorded = {r["model_sha256"]: r for r in db.model_measurements(device_id)}
    todo = {m: Path(m).read_bytes() for m, g in zip(models, graphs, strict=True)
            if remeasure or g.sha256 not in recorded}  # fmt: skip
    fresh = {}
    if todo:
        device = open_device(spec, binary=binary)
        fresh = measure_rounds(device, todo, rounds)
        for m, t in fresh.items():
            record_model_measurement(db, device.profile, todo[m], t, name=Path(m).name,
                                     kind="user")  # fmt: skip
    return [
        fresh[m].median_ms if m in fresh else recorded[g.sha256]["median_ms"]
        for m, g in zip(models, graphs, strict=True)
    ]


def evaluate(
    db: Database,
    models: list[str],
    spec: DeviceSpec,
    remeasure: bool = False,
    baselines: bool = False,
    binary: str | None = None,
    rounds: int = 3,
) -> dict[str, Any]:
    """Score the estimator (and, with ``baselines``, the two baselines) on ``models``."""
    est = load_estimator(spec, db)
    graphs = [read_model(m) for m in models]
    measured = truth(db, spec, models, graphs, remeasure, rounds, binary)
    predicted = [p.total_ms for p in est.predict_many(graphs)]
    out: dict[str, Any] = {
        "device": est.device_id,
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
        from .train import measured_networks, usable_rows

        rows = usable_rows(db, est.device_id)
        nets = measured_networks(db, est.device_id)
        for b in (FlopsProportional().fit(rows, nets), ConvOnly().fit(rows)):
            preds = [b.predict_total(g) for g in graphs]
            out["scores"][b.name] = scores(measured, preds)
            for m, p in zip(out["models"], preds, strict=True):
                m[f"{b.name}_ms"] = p
    return out
