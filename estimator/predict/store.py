"""Save and load trained estimators, refusing incompatible ones with the command that fixes it.

Metadata sits in a JSON file beside the joblib pickle so it can be checked before anything is
unpickled: a pickle from another scikit-learn version can fail in obscure ways.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import LetiError
from ..features import FEATURE_NAMES
from ..paths import estimators_dir
from .estimator import LatencyEstimator

FORMAT_VERSION = 1
FEATURE_SCHEMA = hashlib.sha1(",".join(FEATURE_NAMES).encode()).hexdigest()[:12]


def _slug(device_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", device_id)


def paths_for(device_id: str, folder: Path | None = None) -> tuple[Path, Path]:
    base = (folder or estimators_dir()) / _slug(device_id)
    return base.with_suffix(".joblib"), base.with_suffix(".json")


def _versions() -> dict[str, str]:
    import numpy
    import sklearn

    return {"leti": __version__, "scikit-learn": sklearn.__version__, "numpy": numpy.__version__}


def save(est: LatencyEstimator, report: dict[str, Any], folder: Path | None = None) -> Path:
    import joblib

    model_path, meta_path = paths_for(est.device_id, folder)
    meta = {
        "format": FORMAT_VERSION,
        "device": est.device_id,
        "feature_schema": FEATURE_SCHEMA,
        "versions": _versions(),
        "trained_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "data_hash": report.get("data_hash"),
        "report": report,
    }
    est.metadata = {**est.metadata, **{k: v for k, v in meta.items() if k != "report"}}
    tmp = model_path.with_suffix(".joblib.part")
    joblib.dump(est, tmp, compress=3)
    tmp.replace(model_path)
    meta_path.write_text(json.dumps(meta, indent=1, default=float))
    return model_path


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
) -> LatencyEstimator:
    """The trained estimator of ``device_id``; ``device_args`` names it in the fixing command."""
    fix = f"run 'leti train {device_args}'"
    model_path, _ = paths_for(device_id, folder)
    meta = read_metadata(device_id, folder)
    if meta is None or not model_path.exists():
        raise NoEstimator(
            f"no trained estimator for device {device_id}",
            f"measure it with 'leti db build {device_args} --suite default', then run "
            f"'leti train {device_args}'",
        )
    if meta.get("format") != FORMAT_VERSION or meta.get("feature_schema") != FEATURE_SCHEMA:
        raise LetiError(
            f"the estimator for {device_id} was trained by leti-view "
            f"{meta.get('versions', {}).get('leti', '?')} with another feature schema",
            f"{fix} to retrain it with this version",
        )
    now = _versions()
    then = meta.get("versions", {})
    if then.get("scikit-learn") != now["scikit-learn"]:
        raise LetiError(
            f"the estimator for {device_id} was trained with scikit-learn "
            f"{then.get('scikit-learn')}, this is {now['scikit-learn']}",
            f"{fix} to retrain it (takes a minute; the measurements are kept)",
        )
    import joblib

    try:
        est = joblib.load(model_path)
    except Exception as exc:
        raise LetiError(
            f"the estimator file {model_path} cannot be loaded ({type(exc).__name__})", fix
        ) from None
    if not isinstance(est, LatencyEstimator):
        raise LetiError(f"{model_path} is not a leti estimator", fix)
    return est
