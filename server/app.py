"""The leti-view Flask app: Netron with latency badges, the estimate API, and the settings jobs.

Security model: loopback by default; every state-changing request carries the per-process
CSRF token; models are served only by the id the server gave them (no route takes a path);
uploads are size-capped and parsed before they are accepted; errors are JSON or a page with
a message, never a traceback.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import threading
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from flask import (
    Flask,
    Response,
    abort,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
)
from flask.json.provider import DefaultJSONProvider
from leti.estimator import outputs
from leti.estimator.calibration import device_id_for, get_estimator
from leti.estimator.configs import node_to_config
from leti.estimator.db import open_db
from leti.estimator.errors import LetiError
from leti.estimator.extract import signature
from leti.estimator.graph import ModelGraph, read_model
from leti.estimator.latency import LatencyEstimator
from werkzeug.exceptions import HTTPException

from .jobs import Job, JobBusy, JobManager
from .netron_page import CSP, index_html, netron_dir

STATIC_DIR = Path(str(resources.files("leti.static")))


@dataclass
class LoadedModel:
    id: str
    name: str
    data: bytes
    graph: ModelGraph


@dataclass
class ViewerState:
    device: str = "host"
    threads: int = 1
    db_url: str | None = None
    max_upload_mb: int = 256
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    models: dict[str, LoadedModel] = field(default_factory=dict)
    estimators: dict[str, LatencyEstimator] = field(default_factory=dict)
    jobs: JobManager = field(default_factory=JobManager)
    lock: threading.Lock = field(default_factory=threading.Lock)
    estimator_lock: threading.Lock = field(default_factory=threading.Lock)
    initial: str | None = None
    _db: Any = None

    def add_model(self, data: bytes, name: str) -> LoadedModel:
        graph = read_model(data, name=name)  # raises ModelFormatError with a clear message
        mid = hashlib.sha256(data).hexdigest()[:16]
        model = LoadedModel(mid, name, data, graph)
        self.models[mid] = model
        if self.initial is None:
            self.initial = mid
        return model

    def db(self):
        with self.lock:  # one engine for the app; concurrent first requests must not race
            if self._db is None:
                self._db = open_db(self.db_url)
            return self._db

    def estimator(self, spec: str) -> LatencyEstimator:
        db = self.db()
        with self.estimator_lock:  # one calibration at a time; later callers reuse the result
            if spec not in self.estimators:
                self.estimators[spec] = get_estimator(
                    db, spec, self.threads, allow_uncalibrated=spec == "host"
                )
            return self.estimators[spec]

    def forget_estimators(self) -> None:
        with self.estimator_lock:
            self.estimators.clear()


class FiniteJSONProvider(DefaultJSONProvider):
    """Browsers reject NaN in JSON: send undefined figures (too few samples) as null."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return super().dumps(_finite(obj), **kwargs)


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def create_app(state: ViewerState) -> Flask:
    app = Flask(__name__, template_folder="templates", static_folder=None)
    app.json = FiniteJSONProvider(app)
    app.config["MAX_CONTENT_LENGTH"] = state.max_upload_mb * 1024 * 1024
    app.extensions["leti"] = state

    @app.after_request
    def _headers(resp: Response) -> Response:
        resp.headers["Content-Security-Policy"] = CSP
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        return resp

    @app.before_request
    def _csrf() -> None:
        if request.method in ("POST", "PUT", "DELETE"):
            token = request.headers.get("X-CSRF-Token", "")
            if not secrets.compare_digest(token, state.csrf):
                abort(403, "missing or wrong CSRF token; reload the page")

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        message = exc.description or exc.name
        if exc.code == 413:
            message = f"the file is larger than the {state.max_upload_mb} MB upload limit"
        if request.path.startswith("/api/"):
            return jsonify(error=message), exc.code
        return render_template("error.html", code=exc.code, message=message), exc.code

    @app.errorhandler(LetiError)
    def _leti_error(exc: LetiError):
        if request.path.startswith("/api/"):
            return jsonify(error=str(exc)), 400
        return render_template("error.html", code=400, message=str(exc)), 400

    @app.errorhandler(Exception)
    def _crash(exc: Exception):
        app.logger.exception("unexpected error")
        message = f"internal error ({type(exc).__name__}: {exc}); see the terminal for details"
        if request.path.startswith("/api/"):
            return jsonify(error=message), 500
        return render_template("error.html", code=500, message=message), 500

    def model_or_404(mid: str) -> LoadedModel:
        model = state.models.get(mid)
        if model is None:
            abort(404, f"no model with id {mid} is loaded; open it again")
        return model

    # --- pages ---------------------------------------------------------------------------------

    @app.get("/")
    def home():
        if state.initial is None:
            return redirect("/settings")
        return redirect(f"/m/{state.initial}/")

    @app.get("/m/<mid>/")
    def graph_page(mid: str):
        model = model_or_404(mid)
        meta = {"leti-model": mid, "leti-csrf": state.csrf, "leti-device": state.device}
        resp = Response(index_html("model.tflite", model.name, meta), mimetype="text/html")
        # Netron asks an outside service before showing a consent banner unless this is set.
        resp.set_cookie("consent", str(int(time.time() * 1000)), max_age=30 * 86400)
        return resp

    @app.get("/m/<mid>/model.tflite")
    def model_file(mid: str):
        model = model_or_404(mid)
        return Response(model.data, mimetype="application/octet-stream")

    @app.get("/m/<mid>/<path:asset>")
    def netron_asset(mid: str, asset: str):
        model_or_404(mid)
        resp = send_from_directory(netron_dir(), asset, max_age=3600)
        if asset.endswith(".js"):
            resp.mimetype = "text/javascript"
        return resp

    @app.get("/leti-static/<path:asset>")
    def leti_static(asset: str):
        resp = send_from_directory(STATIC_DIR, asset, max_age=0)
        if asset.endswith(".js"):
            resp.mimetype = "text/javascript"
        return resp

    @app.get("/settings")
    def settings():
        return render_template("settings.html", csrf=state.csrf, device=state.device,
                               model=state.initial or "")  # fmt: skip

    # --- estimates -----------------------------------------------------------------------------

    @app.get("/api/estimate/<mid>")
    def estimate(mid: str):
        model = model_or_404(mid)
        spec = request.args.get("device") or state.device
        est = state.estimator(spec)
        result = est.predict(model.graph)
        payload = outputs.as_json(result)
        payload["name"] = model.name
        payload["operators"] = len(model.graph.nodes)
        payload["subgraphs"] = [s.name for s in model.graph.subgraphs]
        payload["estimator"] = estimator_info(est)
        db = state.db()
        keys = []
        for node in model.graph.nodes:  # the same op alone, generated or cut out of a model
            cfg = node_to_config(node)
            keys.append(cfg.key if cfg else f"x{signature(node)}")
        single = db.medians(est.device_id, keys)
        for n, node, key in zip(payload["nodes"], model.graph.nodes, keys, strict=True):
            n["inputs"] = [t.shape_signature for t in node.inputs if not t.is_constant]
            n["outputs"] = [t.shape_signature for t in node.outputs]
            n["fused_activation"] = node.fused_activation
            n["measured_ms"] = single.get(key)
        payload["measured_ms"] = db.model_median(est.device_id, model.graph.sha256)
        return jsonify(payload)

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
        info["networks"] = est.correction.networks
        info["network_mape"] = est.correction.mape_after
        info["trained_at"] = est.metadata.get("trained_at")
        return info

    @app.get("/api/export/<mid>.<fmt>")
    def export(mid: str, fmt: str):
        model = model_or_404(mid)
        est = state.estimator(request.args.get("device") or state.device)
        result = est.predict(model.graph)
        stem = Path(model.name).stem
        if fmt == "csv":
            body, mime = outputs.as_csv(result), "text/csv"
        elif fmt == "json":
            body, mime = outputs.dumps(outputs.as_json(result)), "application/json"
        elif fmt == "model-explorer.json":
            names = {s.index: s.name for s in model.graph.subgraphs}
            body, mime = outputs.dumps(outputs.as_model_explorer(result, names)), "application/json"
        else:
            abort(404, f"unknown export format {fmt}")
        resp = Response(body, mimetype=mime)
        resp.headers["Content-Disposition"] = f'attachment; filename="{stem}-latency.{fmt}"'
        return resp

    @app.post("/api/models")
    def upload():
        file = request.files.get("model")
        if file is None or not file.filename:
            abort(400, "choose a .tflite file to open")
        data = file.read()
        model = state.add_model(data, Path(file.filename).name)
        return jsonify(id=model.id, url=f"/m/{model.id}/", operators=len(model.graph.nodes))

    # --- devices, database, jobs ---------------------------------------------------------------

    @app.get("/api/devices")
    def devices():
        from leti.estimator.devices import list_devices
        from leti.estimator.store import read_metadata

        db = state.db()
        status = db.status()
        profiles = []
        for dev in db.device_ids():
            meta = read_metadata(dev)
            profiles.append({"id": dev, "trained": meta is not None,
                             "trained_at": meta.get("trained_at") if meta else None,
                             "report": _report_summary(meta)})  # fmt: skip
        return jsonify(devices=list_devices(), profiles=profiles, status=status,
                       host_profile=device_id_for("host", threads=state.threads))  # fmt: skip

    @app.post("/api/jobs")
    def start_job():
        body = request.get_json(silent=True) or {}
        kind = body.get("kind")
        spec = body.get("device") or state.device
        suite = body.get("suite") or "smoke"
        if kind not in ("rebuild", "retrain", "calibrate", "measure"):
            abort(400, "kind must be rebuild, retrain, calibrate or measure")
        if suite not in ("smoke", "default", "full"):
            abort(400, "suite must be smoke, default or full")
        model = state.models.get(body.get("model") or "")
        if kind == "measure" and model is None:
            abort(400, "measure needs a loaded model")
        params = {"device": spec, "suite": suite, "from_model": bool(body.get("from_model")),
                  "model": model.id if model else None}  # fmt: skip
        try:
            job = state.jobs.start(kind, params, lambda job: _run_job(state, job, model))
        except JobBusy as exc:
            return jsonify(error=str(exc), job=state.jobs.current.to_dict()), 409
        return jsonify(job.to_dict()), 202

    @app.get("/api/jobs/current")
    def current_job():
        job = state.jobs.current
        return jsonify(job.to_dict() if job else None)

    @app.post("/api/jobs/cancel")
    def cancel_job():
        job = state.jobs.cancel()
        return jsonify(job.to_dict() if job else None)

    return app


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
        "correction": report.get("correction"),
    }


def _run_job(state: ViewerState, job: Job, model: LoadedModel | None) -> str:
    """The body of a settings-page job; measurements commit one by one inside run_build."""
    import tempfile

    from leti.estimator.build import make_plan, record_model_measurement, run_build
    from leti.estimator.devices import open_device
    from leti.estimator.store import save
    from leti.estimator.training import train

    p = job.params
    db = state.db()
    messages = []
    if job.kind in ("rebuild", "calibrate"):
        models: list[str] = []
        tmp = None
        if p["from_model"] and model is not None:
            tmp = tempfile.NamedTemporaryFile(suffix=".tflite", delete=False)
            tmp.write(model.data)
            tmp.close()
            models.append(tmp.name)
        try:
            plan = make_plan(p["suite"], models)
        finally:
            if tmp:
                Path(tmp.name).unlink(missing_ok=True)
        device = open_device(p["device"], threads=state.threads)

        def progress(prog) -> None:
            job.progress = prog.to_dict()

        prog = run_build(
            db, device, plan, show_progress=False, on_progress=progress, cancel=job.cancel
        )
        messages.append(f"measured {prog.measured}, skipped {prog.skipped}, failed {prog.failed}")
        if job.cancel.is_set():
            return "cancelled; " + messages[0] + " (all kept)"
    if job.kind in ("retrain", "calibrate"):
        job.progress = {**job.progress, "current": "training the estimator"}
        device_id = device_id_for(p["device"], db, state.threads)
        est, report = train(db, device_id, log=job.log.append)
        save(est, report)
        state.forget_estimators()
        messages.append(f"trained on {report['samples']} measurements in {report['seconds']:.1f} s")
    if job.kind == "measure" and model is not None:
        device = open_device(p["device"], threads=state.threads)
        device.check()
        job.progress = {"current": f"measuring {model.name}"}
        t = device.measure(model.data)
        record_model_measurement(db, device.profile, model.data, t, name=model.name, kind="user")
        job.progress = {"measured_ms": t.median_ms, "runs": t.runs}
        messages.append(f"measured {t.median_ms:.3f} ms (median of {t.runs} runs)")
    return "; ".join(messages)
