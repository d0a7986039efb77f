"""Background jobs for the settings page: one at a time, progress you can re-attach to,
cancellation between measurements (each measurement is already committed)."""

from __future__ import annotations

import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class JobBusy(Exception):
    """A job is already running."""


@dataclass
class Job:
    id: str
    kind: str
    params: dict[str, Any]
    state: str = "running"  # running | done | failed | cancelled
    progress: dict[str, Any] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)
    message: str = ""
    started: float = field(default_factory=time.time)
    finished: float | None = None
    cancel: threading.Event = field(default_factory=threading.Event)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "params": self.params,
            "state": self.state,
            "progress": self.progress,
            "log": self.log[-30:],
            "message": self.message,
            "started": self.started,
            "finished": self.finished,
            "elapsed_s": (self.finished or time.time()) - self.started,
        }


class JobManager:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.current: Job | None = None

    def start(self, kind: str, params: dict[str, Any], work: Callable[[Job], str]) -> Job:
        with self._lock:
            if self.current is not None and self.current.state == "running":
                raise JobBusy(
                    f"a {self.current.kind} job is already running; wait for it or cancel it"
                )
            job = Job(uuid.uuid4().hex[:12], kind, params)
            self.current = job
        threading.Thread(target=self._run, args=(job, work), daemon=True).start()
        return job

    def _run(self, job: Job, work: Callable[[Job], str]) -> None:
        try:
            job.message = work(job) or "finished"
            job.state = "cancelled" if job.cancel.is_set() else "done"
        except Exception as exc:  # the page shows what went wrong; nothing measured is lost
            job.state = "failed"
            job.message = str(exc) or type(exc).__name__
            job.log.append(traceback.format_exc(limit=3))
        finally:
            job.finished = time.time()

    def cancel(self) -> Job | None:
        job = self.current
        if job is not None and job.state == "running":
            job.cancel.set()
        return job


def run_job(state: Any, job: Job, model: Any) -> str:
    """The body of a settings-page job, through the same services the ``leti`` CLI calls;
    measurements commit one by one inside the build."""
    from leti.estimator.services.build import SourceModel, make_plan, run_build
    from leti.estimator.services.devices import open_device
    from leti.estimator.services.estimate import resolve_profile
    from leti.estimator.services.measure import measure_model
    from leti.estimator.services.train import train_and_save

    p = job.params
    db = state.db()
    spec = state.spec(p["device"])
    messages = []
    if job.kind in ("rebuild", "calibrate"):
        models = []
        if p["from_model"] and model is not None:  # the upload as it is: parsed once, on upload
            models.append(SourceModel(model.name, model.data, model.graph))
        plan = make_plan(p["suite"], models)

        def progress(prog: Any) -> None:
            job.progress = prog.to_dict()

        prog = run_build(
            db,
            open_device(spec),
            plan,
            show_progress=False,
            on_progress=progress,
            cancel=job.cancel,
        )
        messages.append(f"measured {prog.measured}, skipped {prog.skipped}, failed {prog.failed}")
        if job.cancel.is_set():
            return "cancelled; " + messages[0] + " (all kept)"
    if job.kind in ("retrain", "calibrate"):
        job.progress = {**job.progress, "current": "training the estimator"}
        report, _ = train_and_save(db, resolve_profile(spec, db), log=job.log.append)
        state.forget_estimators()
        messages.append(f"trained on {report['samples']} measurements in {report['seconds']:.1f} s")
    if job.kind == "measure" and model is not None:
        job.progress = {"current": f"measuring {model.name}"}
        result = measure_model(open_device(spec), model.name, db=db, data=model.data)
        t = result.timing
        job.progress = {"measured_ms": t.median_ms, "runs": t.runs}
        messages.append(f"measured {t.median_ms:.3f} ms (median of {t.runs} runs)")
    return "; ".join(messages)
