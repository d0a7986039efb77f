"""Save and load trained estimators, refusing incompatible ones with the command that fixes it.

A trained estimator is a JSON file (metadata, the composition, runtime facts, throughput and
each op kind's interval) and a folder of compiled regressors, one ``.npz`` per op kind
(:mod:`.compiled`): loading needs neither scikit-learn nor unpickling, and an op kind's arrays
are read only when a model holding it is predicted. scikit-learn's fitted models are kept
beside them (``fitted.joblib``) for inspection; prediction never reads that file. Saving
writes a new folder, then the JSON that names it, then removes the old folder, so a reader
never sees half an estimator.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import LetiError
from ..features import FEATURE_NAMES
from ..kernels.rules import KernelRules
from ..paths import estimators_dir
from .compiled import Compiled, LazyCompiled
from .compiled import save as save_arrays
from .composition import Composition
from .estimator import LatencyEstimator, OpModel
from .kernel_estimator import KernelComposition, KernelEstimator
from .runtime import Runtime
from .throughput import Throughput
from .transfer_estimator import TransferEstimator

FORMAT_VERSION = 2
FITTED = "fitted.joblib"
FEATURE_SCHEMA = hashlib.sha1(",".join(FEATURE_NAMES).encode()).hexdigest()[:12]


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def paths_for(device_id: str, folder: Path | None = None) -> tuple[Path, Path]:
    """(the folder that holds the estimator's arrays folders, its JSON file)."""
    base = (folder or estimators_dir()) / _slug(device_id)
    return base, base.with_suffix(".json")


def _versions() -> dict[str, str]:
    import numpy

    return {"leti": __version__, "numpy": numpy.__version__}


def save(est: LatencyEstimator | KernelEstimator | TransferEstimator, report: dict[str, Any],
         folder: Path | None = None, fitted: dict[str, Any] | None = None) -> Path:  # fmt: skip
    """Write the estimator, its op kinds' (or kernel kinds') regressors already compiled
    (``learn.compile``); ``fitted``: scikit-learn's own models, kept beside them for whoever
    inspects or refits them, never loaded."""
    arrays_root, meta_path = paths_for(est.device_id, folder)
    arrays_root.mkdir(parents=True, exist_ok=True)
    name = uuid.uuid4().hex[:12]
    arrays = arrays_root / name
    arrays.mkdir()
    if fitted:
        import joblib

        joblib.dump(fitted, arrays / FITTED, compress=3)
    op_models: dict[str, Any] = {}
    regressors: dict[str, Any] = {}
    if isinstance(est, KernelEstimator):
        regressors = est.heads
    elif isinstance(est, LatencyEstimator):
        regressors = est.op_models
    for kind, m in sorted(regressors.items()):
        model = m.model
        if not isinstance(model, Compiled | LazyCompiled):
            raise TypeError(f"{kind}: compile the regressor before saving (learn.compile)")
        file = f"{_slug(kind)}.npz"
        save_arrays(model.model if isinstance(model, LazyCompiled) else model, arrays / file)
        op_models[kind] = {"name": m.name, "samples": m.samples, "metrics": m.metrics,
                           "log_q10": m.log_q10, "log_q90": m.log_q90, "file": file}  # fmt: skip
    meta = {
        "format": FORMAT_VERSION,
        "kind": getattr(est, "kind", "ops"),
        "device": est.device_id,
        "feature_schema": FEATURE_SCHEMA,
        "versions": _versions(),
        "trained_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "data_hash": report.get("data_hash"),
        "arrays": name,
        "calibrated": est.calibrated,
        "op_models": op_models,
        "report": report,
    }
    if isinstance(est, KernelEstimator | TransferEstimator):
        meta.update(est.to_meta())
    else:
        meta.update(throughput=asdict(est.throughput), composition=asdict(est.composition),
                    runtime=asdict(est.runtime))  # fmt: skip
    est.metadata = {**est.metadata, **{k: meta[k] for k in ("device", "trained_at",
                                                            "data_hash", "versions")}}  # fmt: skip
    tmp = meta_path.with_suffix(".json.part")
    tmp.write_text(json.dumps(meta, indent=1, default=float))
    tmp.replace(meta_path)
    for old in arrays_root.iterdir():  # earlier trainings' arrays; readers now use the new one
        if old.name != name:
            shutil.rmtree(old, ignore_errors=True)
    return meta_path


def read_metadata(device_id: str, folder: Path | None = None) -> dict[str, Any] | None:
    _, meta_path = paths_for(device_id, folder)
    if not meta_path.exists():
        return None
    try:
        return json.loads(meta_path.read_text())
    except ValueError:
        return None


class NoEstimator(LetiError):
    """Nothing has been trained for this device profile yet."""


def load(
    device_id: str, device_args: str = "--device host", folder: Path | None = None
) -> LatencyEstimator | KernelEstimator | TransferEstimator:
    """The trained estimator of ``device_id``; ``device_args`` names it in the fixing command."""
    fix = f"run 'leti train {device_args}'"
    arrays_root, meta_path = paths_for(device_id, folder)
    meta = read_metadata(device_id, folder)
    if meta is None:
        if meta_path.exists():
            raise LetiError(f"the estimator file {meta_path} cannot be loaded (not JSON)", fix)
        raise NoEstimator(
            f"no trained estimator for device {device_id}",
            f"measure it with 'leti db build {device_args} --suite default', then run "
            f"'leti train {device_args}'",
        )
    if meta.get("format") != FORMAT_VERSION or meta.get("feature_schema") != FEATURE_SCHEMA:
        raise LetiError(
            f"the estimator for {device_id} was trained by leti-view "
            f"{meta.get('versions', {}).get('leti', '?')} in another format",
            f"{fix} to retrain it with this version (takes a minute; the measurements are kept)",
        )
    try:
        arrays = arrays_root / meta["arrays"]
        op_models = {
            kind: OpModel(
                kind,
                m["name"],
                LazyCompiled(arrays / m["file"], fix),
                m["samples"],
                m["metrics"],
                m["log_q10"],
                m["log_q90"],
            )  # fmt: skip
            for kind, m in meta["op_models"].items()
        }
        kept = {k: meta[k] for k in ("device", "trained_at", "data_hash", "versions", "report")}
        est: LatencyEstimator | KernelEstimator | TransferEstimator
        if meta.get("kind") == "transfer":
            from ..learn.transfer import Transfer

            base = load(meta["base"], "--device host", folder)
            if base.metadata.get("trained_at") != meta.get("base_trained_at"):
                raise LetiError(
                    f"{device_id} was learned from an earlier training of {meta['base']}, "
                    "which has been retrained since",
                    f"{fix} to learn it again from the host estimator in use",
                )
            est = TransferEstimator(device_id, base, Transfer(**meta["transfer"]), metadata=kept)
        elif meta.get("kind") == "kernels":
            est = KernelEstimator(
                device_id, KernelRules.from_dict(meta["rules"]), op_models, meta["priced"],
                KernelComposition(**meta["composition"]), metadata=kept,
            )  # fmt: skip
        else:
            est = LatencyEstimator(
                device_id,
                op_models,
                Throughput(**meta["throughput"]),
                composition=Composition(**meta["composition"]),
                runtime=Runtime(**meta["runtime"]),
                metadata=kept,
                calibrated=meta["calibrated"],
            )
    except (KeyError, TypeError) as exc:
        raise LetiError(f"the estimator file {meta_path} cannot be loaded ({exc!r})", fix) from None
    missing = [m.model.path.name for m in op_models.values() if not m.model.path.exists()]
    if missing:
        raise LetiError(
            f"the estimator for {device_id} cannot be loaded: {len(missing)} of its files are "
            f"missing ({', '.join(missing[:3])})",
            fix,
        )
    return est
