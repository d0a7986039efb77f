"""``leti evaluate``: the truth (models measured end to end, in interleaved rounds, and
recorded), the predictions, and the scores, each its own step."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any

from ..db import Database
from ..devices import DeviceSpec, open_device
from ..errors import LetiError
from ..graph import ModelGraph, read_model
from ..learn.baselines import ConvOnly, FlopsProportional
from ..learn.metrics import scores
from . import drift
from .estimate import load_estimator, resolve_profile
from .measure import measure_rounds, record_model_measurement
from .repeatability import TRUTH_STATISTIC, report, truth_value


@dataclass
class Truth:
    """Measured ms of each model, and, when timed now, normalised by the device's drift."""

    measured: list[float]
    normalised: list[float | None]
    drift: dict[str, Any]
    repeatability: dict[str, Any] | None = None  # timed now: the truth against itself


def truth(
    db: Database,
    spec: DeviceSpec,
    models: list[str],
    graphs: list[ModelGraph],
    reference_ms: dict[str, float],
    remeasure: bool = False,
    rounds: int = 6,
    binary: str | None = None,
) -> Truth:
    """Measured ms of each model: recorded, or (all with ``remeasure``) timed now in
    ``rounds`` interleaved rounds and recorded for next time. Timed now, the drift reference
    set is timed before every round; the truth divided by the least of those factors (the
    device's quiet state over the rounds, :func:`.drift.quiet_factor`) is the normalised
    truth (what the device would show in its calibration state)."""
    device_id = resolve_profile(spec, db)
    recorded = {r["model_sha256"]: r for r in db.model_measurements(device_id)}
    todo = {
        m: Path(m).read_bytes()
        for m, g in zip(models, graphs, strict=True)
        if remeasure or g.sha256 not in recorded
    }
    fresh: dict[str, Any] = {}
    factors: list[float] = []
    if todo:
        device = open_device(spec, binary=binary)

        def reference(_round: int) -> None:
            if reference_ms:
                f = drift.factor(drift.time_reference(device), reference_ms)
                if f is not None:
                    factors.append(f)

        fresh = measure_rounds(device, todo, rounds, reference)
        for m, t in fresh.items():
            if len(factors) == len(t.extra["round_medians_ms"]):
                t.extra["drift_factors"] = list(factors)
            record_model_measurement(db, device.profile, todo[m], t, name=Path(m).name, kind="user")
    factor = drift.quiet_factor(factors)
    measured, normalised, timed = [], [], []
    for m, g in zip(models, graphs, strict=True):
        if m in fresh:
            t = fresh[m]
            measured.append(t.median_ms)
            rounds = list(zip(t.extra["round_medians_ms"], t.extra["round_p10s_ms"], strict=True))
            timed.append(rounds)
            every_round = t.extra.get("drift_factors") and factor
            normalised.append(t.median_ms / factor if every_round else None)
        else:
            measured.append(recorded_truth(recorded[g.sha256]))
            normalised.append(None)
    state = {  # the state the truth, the fastest of its rounds, was taken in
        "factors": factors,
        "factor": factor,
        "different_state": factor is not None and abs(factor - 1) > drift.DIFFERENT_STATE,
    }
    return Truth(measured, normalised, state, report(timed) if timed else None)


def recorded_truth(row: dict[str, Any]) -> float:
    """A recorded truth in today's statistic: one recorded under another (before 2026-12-03
    the median of round medians) is computed again from its kept rounds."""
    stats = row.get("stats") or {}
    medians, p10s = stats.get("round_medians_ms") or [], stats.get("round_p10s_ms") or []
    rounds = list(zip(medians, p10s, strict=True)) if len(medians) == len(p10s) else []
    if stats.get("statistic", TRUTH_STATISTIC) != TRUTH_STATISTIC and rounds:
        return truth_value(rounds)
    return row["median_ms"]


def published_spread(db: Database, device_id: str) -> float | None:
    """The truth's own spread for rows timed elsewhere (published, or profiled over adb): the
    median over models of their run-to-run std / mean, in %; None when no row has a std."""
    spread = [
        r["std_us"] / r["mean_us"] * 100
        for r in db.model_times(device_id)
        if r["std_us"] is not None and r["mean_us"] > 0
    ]
    return median(spread) if spread else None


def evaluate_transfer_profile(db: Database, device_id: str) -> dict[str, Any]:
    """A published phone's CPU: its models, each predicted by a transfer fitted without its
    family (recomputed now, from the host estimator in use), against two baselines."""
    from .train import require_imported
    from .transfer_train import base_estimator, evaluate_transfer, transfer_rows

    require_imported(db, device_id)
    rows = transfer_rows(db, device_id, base_estimator(db))
    if len(set(rows[3])) < 3:
        raise LetiError(
            f"{device_id} has models of {len(set(rows[3]))} families with a shipped graph: "
            "too few to leave one out",
            "import the phone's measurements: 'leti db import ../shared/data/mobile-ml-benchmark'",
        )
    out = evaluate_transfer(*rows)
    out["device"] = device_id
    out["truth_spread_pct"] = published_spread(db, device_id)
    return out


def evaluate_kernel_profile(db: Database, device_id: str) -> dict[str, Any]:
    """A kernel profile (a published phone, a phone profiled over adb): its own models, each
    predicted by what was learned without its family, against the two baselines; the truth's
    spread is each model's run-to-run std / mean. Training runs the same cross-validation
    (its intervals come from it): when the rows have not changed since, that run is reported."""
    from ..predict.store import read_metadata
    from .kernel_train import check_enough, cross_validate, profiled_models, rows_hash

    meta = read_metadata(device_id) or {}
    report = meta.get("report") or {}
    if report.get("evaluation") and report.get("data_hash") == rows_hash(db, device_id):
        out = dict(report["evaluation"])
        out["computed"] = f"by 'leti train' at {meta.get('trained_at')}, on the same rows"
    else:
        models = profiled_models(db, device_id)
        check_enough(device_id, models)
        out = cross_validate(models)
        out.pop("kernel_log_residuals", None)
        out["computed"] = "now"
    out["device"] = device_id
    out["truth_spread_pct"] = published_spread(db, device_id)
    return out


def evaluate(
    db: Database,
    models: list[str],
    spec: DeviceSpec,
    remeasure: bool = False,
    baselines: bool = False,
    binary: str | None = None,
    rounds: int = 6,
) -> dict[str, Any]:
    """Score the estimator (and, with ``baselines``, the two baselines) on ``models``; with
    no models, a kernel profile scores its own models left out by family."""
    from ..devices.base import is_published
    from .train import is_kernel_profile, is_transfer_profile

    device_id = resolve_profile(spec, db)
    if not models and is_transfer_profile(device_id):
        return evaluate_transfer_profile(db, device_id)
    if not models:
        if is_kernel_profile(db, device_id):
            return evaluate_kernel_profile(db, device_id)
        raise LetiError("no models to evaluate", "pass one or more .tflite files")
    if is_published(device_id):
        raise LetiError(
            f"{device_id} is a phone known from published measurements: nothing here can time "
            "your models on it",
            f"run 'leti evaluate --device {device_id}' (no model) to score it on the published "
            "models, left out by family",
        )
    est = load_estimator(spec, db)
    graphs = [read_model(m) for m in models]
    reference_ms = est.metadata.get("report", {}).get("reference_ms") or {}
    t = truth(db, spec, models, graphs, reference_ms, remeasure, rounds, binary)
    predicted = [p.total_ms for p in est.predict_many(graphs)]
    out: dict[str, Any] = {
        "device": est.device_id,
        "drift": t.drift,
        "models": [
            {
                "model": m,
                "measured_ms": a,
                "predicted_ms": b,
                "error_pct": (b - a) / a * 100,
                "measured_normalised_ms": n,
                "error_normalised_pct": None if n is None else (b - n) / n * 100,
                "operators": len(g.nodes),
                "sha256": g.sha256,
            }
            for m, g, a, n, b in zip(
                models, graphs, t.measured, t.normalised, predicted, strict=True
            )
        ],
        "scores": {"leti": scores(t.measured, predicted)},
        "truth": t.repeatability,
    }
    if all(n is not None for n in t.normalised) and t.normalised:
        out["scores_normalised"] = {"leti": scores(t.normalised, predicted)}
    if baselines:
        from .train import learned, measured_networks

        fast = est.metadata.get("report", {}).get("timing") == "p10"  # as the estimator learned
        rows = learned(db.usable_measurements(est.device_id), fast)
        nets = [(g, ms) for g, ms, _ in measured_networks(db, est.device_id, fast=fast)]
        for b in (FlopsProportional().fit(rows, nets), ConvOnly().fit(rows)):
            preds = [b.predict_total(g) for g in graphs]
            out["scores"][b.name] = scores(t.measured, preds)
            if "scores_normalised" in out:
                out["scores_normalised"][b.name] = scores(t.normalised, preds)
            for m, p in zip(out["models"], preds, strict=True):
                m[f"{b.name}_ms"] = p
    return out
