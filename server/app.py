"""The leti-view Flask app: Netron with latency badges, the estimate API, and the settings page.

Security model: loopback by default; every state-changing request carries the per-process
CSRF token; models are served only by the id the server gave them (no route takes a path);
uploads are size-capped and parsed before they are accepted; errors are JSON or a page with
a message, never a traceback.
"""

from __future__ import annotations

import logging
import math
import secrets
import time
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
from leti.estimator.errors import LetiError
from leti.estimator.services.page import suite_times
from werkzeug.exceptions import HTTPException

from .api import api, model_or_404
from .netron_page import CSP, index_html, netron_dir
from .state import LoadedModel, ViewerState

STATIC_DIR = Path(str(resources.files("leti.static")))

__all__ = ["LoadedModel", "ViewerState", "create_app"]


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
    app.register_blueprint(api)

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
        logging.getLogger("leti-view").exception("unexpected error")
        message = f"internal error ({type(exc).__name__}: {exc}); see the terminal for details"
        if request.path.startswith("/api/"):
            return jsonify(error=message), 500
        return render_template("error.html", code=500, message=message), 500

    @app.get("/")
    def home():
        if state.initial is None:
            return redirect("/settings")
        return redirect(f"/m/{state.initial}/")

    @app.get("/favicon.ico")
    def favicon():
        return send_from_directory(
            STATIC_DIR, "favicon.svg", mimetype="image/svg+xml", max_age=86400
        )

    @app.get("/m/<mid>/")
    def graph_page(mid: str):
        model = model_or_404(mid)
        times = suite_times()
        meta = {
            "leti-model": mid,
            "leti-csrf": state.csrf,
            "leti-device": state.device,
            "leti-smoke-time": times["smoke"],
            "leti-default-time": times["default"],
        }
        resp = Response(index_html("model.tflite", model.name, meta), mimetype="text/html")
        # Netron asks an outside service before showing a consent banner unless this is set.
        resp.set_cookie("consent", str(int(time.time() * 1000)), max_age=30 * 86400)
        return resp

    @app.get("/m/<mid>/model.tflite")
    def model_file(mid: str):
        return Response(model_or_404(mid).data, mimetype="application/octet-stream")

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
        times = suite_times()
        return render_template(
            "settings.html",
            csrf=state.csrf,
            device=state.device,
            model=state.initial or "",
            smoke_time=times["smoke"],
            default_time=times["default"],
        )

    return app
