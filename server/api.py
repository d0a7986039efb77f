"""The viewer's JSON API: estimates and exports of a loaded model, uploads, devices and the
settings page's jobs. Every route answers JSON; state-changing ones need the CSRF token."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, current_app, jsonify, request
from leti.estimator.services import page
from leti.estimator.services.devices import check_opens

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
    s = state()
    model = model_or_404(mid)
    est = s.estimator(request.args.get("device"))
    return jsonify(page.estimate_payload(est, model.graph, model.name, s.db(), s.spec("host")))


@api.get("/export/<name>")
def export(name: str):
    mid, _, fmt = name.partition(".")  # "<model id>.<extension>", e.g. 1f2e….model-explorer.json
    model = model_or_404(mid)
    if fmt not in page.EXPORTS:
        abort(404, f"unknown export format {fmt}")
    est = state().estimator(request.args.get("device"))
    resp = Response(page.export(est, model.graph, fmt), mimetype=page.EXPORTS[fmt].mimetype)
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
    s = state()
    return jsonify(page.devices_payload(s.db(), s.spec("host")))


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
    if kind != "retrain":
        check_opens(spec)  # nothing to measure (a published phone): a 400 too
    model = s.models.get(body.get("model") or "")
    if kind == "measure" and model is None:
        abort(400, "measure needs a loaded model")
    params = {
        "device": spec.text,
        "suite": suite,
        "from_model": bool(body.get("from_model")),
        "model": model.id if model else None,
    }
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
