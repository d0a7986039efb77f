"""The viewer's JSON API: estimates and exports of a loaded model, uploads, devices and the
settings page's jobs. Every route answers JSON; state-changing ones need the CSRF token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, request
from leti.estimator.predict.estimator import LatencyEstimator
from leti.estimator.render import RENDERERS, as_json, render

from .jobs import JobBusy, run_job
from .state import LoadedModel, ViewerState

api = Blueprint("api", __name__, url_prefix="/api")
JOB_KINDS = ("rebuild", "retrain", "calibrate", "measure")


def state() -> ViewerState:
    return current_app.extensions["leti"]


def model_or_404(mid: str) -> LoadedModel:
    model = state().models.get(mid)
    if model is None:
        abort(404, f"no model with id {mid} is loaded; open it again")
    return model


@api.get("/estimate/<mid>")
def estimate(mid: str):
    from leti.estimator.services.estimate import single_op_medians

    model = model_or_404(mid)
    est = state().estimator(request.args.get("device"))
    payload = as_json(est.predict(model.graph))
    payload["name"] = model.name
    payload["operators"] = len(model.graph.nodes)
    payload["subgraphs"] = [s.name for s in model.graph.subgraphs]
    payload["estimator"] = estimator_info(est)
    db = state().db()
    single = single_op_medians(db, est.device_id, model.graph)
    for n, node in zip(payload["nodes"], model.graph.nodes, strict=True):
        n["inputs"] = [t.shape_signature for t in node.inputs if not t.is_constant]
        n["outputs"] = [t.shape_signature for t in node.outputs]
        n["fused_activation"] = node.fused_activation
        n["measured_ms"] = single.get(node.key)
    payload["measured_ms"] = db.model_median(est.device_id, model.graph.sha256)
    payload["cpu_alone_ms"] = _cpu_alone(est, payload, model)
    return jsonify(payload)


def _cpu_alone(est: LatencyEstimator, payload: dict[str, Any], model: LoadedModel) -> float | None:
    """With a partial GPU delegation, the same model on this machine's CPU alone (when its
    host estimator is trained): GPU+CPU can be slower than the CPU by itself."""
    if not est.gpu or payload["partitions"] <= 1:
        return None
    from leti.estimator.predict.store import NoEstimator
    from leti.estimator.services.estimate import load_estimator

    try:
        host = load_estimator(state().spec("host"))
    except NoEstimator:
        return None
    return host.predict(model.graph).total_ms


def estimator_info(est: LatencyEstimator) -> dict[str, Any]:
    info: dict[str, Any] = {"device": est.device_id, "calibrated": est.calibrated}
    report = est.metadata.get("report", {})
    ops = report.get("op_types", [])
    scored = [r for r in ops if r["metrics"]["mape"] is not None]
    if scored:
        n = sum(r["samples"] for r in scored)
        info["samples"] = n
        info["cv_mape"] = sum(r["metrics"]["mape"] * r["samples"] for r in scored) / n
        info["per_op"] = {r["op"]: r["metrics"] for r in ops}
    comp = est.composition
    info["networks"] = comp.networks
    info["network_mape"] = comp.report.get("cv_mape", comp.report.get("fit_mape"))
    info["composition"] = comp.form
    info["trained_at"] = est.metadata.get("trained_at")
    return info


@api.get("/export/<name>")
def export(name: str):
    mid, _, fmt = name.partition(".")  # "<model id>.<extension>", e.g. 1f2e….model-explorer.json
    model = model_or_404(mid)
    by_ext = {r.extension: r for r in RENDERERS.values() if r.name != "table"}
    if fmt not in by_ext:
        abort(404, f"unknown export format {fmt}")
    r = by_ext[fmt]
    est = state().estimator(request.args.get("device"))
    resp = Response(render(est.predict(model.graph), r.name), mimetype=r.mimetype)
    stem = Path(model.name).stem
    resp.headers["Content-Disposition"] = f'attachment; filename="{stem}-latency.{fmt}"'
    return resp


@api.post("/models")
def upload():
    file = request.files.get("model")
    if file is None or not file.filename:
        abort(400, "choose a .tflite file to open")
    model = state().add_model(file.read(), Path(file.filename).name)
    return jsonify(id=model.id, url=f"/m/{model.id}/", operators=len(model.graph.nodes))


@api.get("/devices")
def devices():
    from leti.estimator.devices import list_devices
    from leti.estimator.generate.suite_times import measured
    from leti.estimator.predict.store import read_metadata
    from leti.estimator.services.estimate import resolve_profile

    s = state()
    db = s.db()
    profiles = []
    for dev in db.device_ids():
        meta = read_metadata(dev)
        profiles.append({"id": dev, "trained": meta is not None,
                         "trained_at": meta.get("trained_at") if meta else None,
                         "report": _report_summary(meta)})  # fmt: skip
    return jsonify(devices=list_devices(), profiles=profiles, status=db.status(),
                   host_profile=resolve_profile(s.spec("host"), None),
                   suite_seconds=measured())  # fmt: skip


def _report_summary(meta: dict[str, Any] | None) -> dict[str, Any] | None:
    if not meta:
        return None
    report = meta.get("report", {})
    return {
        "samples": report.get("samples"),
        "networks": report.get("networks"),
        "op_types": [
            {"op": r["op"], "samples": r["samples"], "model": r["chosen"], **r["metrics"]}
            for r in report.get("op_types", [])
        ],
        "composition": report.get("composition"),
    }


@api.post("/jobs")
def start_job():
    s = state()
    body = request.get_json(silent=True) or {}
    kind = body.get("kind")
    suite = body.get("suite") or "smoke"
    if kind not in JOB_KINDS:
        abort(400, f"kind must be one of {', '.join(JOB_KINDS)}")
    if suite not in ("smoke", "default", "full"):
        abort(400, "suite must be smoke, default or full")
    spec = s.spec(body.get("device"))  # a bad device is a clear 400 now, not a failed job
    model = s.models.get(body.get("model") or "")
    if kind == "measure" and model is None:
        abort(400, "measure needs a loaded model")
    params = {"device": spec.text, "suite": suite, "from_model": bool(body.get("from_model")),
              "model": model.id if model else None}  # fmt: skip
    try:
        job = s.jobs.start(kind, params, lambda job: run_job(s, job, model))
    except JobBusy as exc:
        return jsonify(error=str(exc), job=s.jobs.current.to_dict()), 409
    return jsonify(job.to_dict()), 202


@api.get("/jobs/current")
def current_job():
    job = state().jobs.current
    return jsonify(job.to_dict() if job else None)


@api.post("/jobs/cancel")
def cancel_job():
    job = state().jobs.cancel()
    return jsonify(job.to_dict() if job else None)
