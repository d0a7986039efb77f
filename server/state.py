"""What one leti-view process holds: the models opened, the database, the estimators loaded,
and the one background job."""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from leti.estimator.services.devices import DeviceSpec
from leti.estimator.services.viewer import Estimator, ModelGraph, open_database, open_model

from .jobs import JobManager


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
    precision: str = "fp16"
    db_url: str | None = None
    max_upload_mb: int = 256
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    models: dict[str, LoadedModel] = field(default_factory=dict)
    estimators: dict[str, Estimator] = field(default_factory=dict)
    jobs: JobManager = field(default_factory=JobManager)
    lock: threading.Lock = field(default_factory=threading.Lock)
    estimator_lock: threading.Lock = field(default_factory=threading.Lock)
    initial: str | None = None
    _db: Any = None

    def add_model(self, data: bytes, name: str) -> LoadedModel:
        graph = open_model(data, name=name)  # raises ModelFormatError with a clear message
        mid = hashlib.sha256(data).hexdigest()[:16]
        model = LoadedModel(mid, name, data, graph)
        self.models[mid] = model
        if self.initial is None:
            self.initial = mid
        return model

    def spec(self, text: str | None = None) -> DeviceSpec:
        """A device the page names (``host``, ``gpu``, ``adb:SERIAL`` or a profile id), with the
        viewer's options: a request is an edge too, checked as it comes in."""
        return DeviceSpec.parse(text or self.device, threads=self.threads, precision=self.precision)

    def db(self) -> Any:
        with self.lock:  # one engine for the app; concurrent first requests must not race
            if self._db is None:
                self._db = open_database(self.db_url)
            return self._db

    def estimator(self, text: str | None = None) -> Estimator:
        """The trained estimator; for the host before any training, the uncalibrated stand-in
        (which times the micro-benchmark once), as ``leti estimate`` does."""
        from leti.estimator.services.estimate import estimator_or_stand_in

        spec = self.spec(text)
        with self.estimator_lock:  # one calibration at a time; later callers reuse the result
            if spec.text not in self.estimators:
                est, note = estimator_or_stand_in(spec, self.db)
                if note:
                    est.metadata = {**est.metadata, "note": note}
                self.estimators[spec.text] = est
            return self.estimators[spec.text]

    def forget_estimators(self) -> None:
        with self.estimator_lock:
            self.estimators.clear()
