"""One regressor per op type, chosen among candidates by cross-validation on that op type's
measurements; its held-out residuals give the interval of every node it prices."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..features import matrix
from ..predict.estimator import OpModel
from .metrics import error_metrics
from .regressors import candidates

MIN_SAMPLES = 2


def cv_predictions(model: Any, X: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    """Held-out predictions for every row (5-fold, or leave-one-out under 10 rows)."""
    from sklearn.model_selection import KFold, LeaveOneOut, cross_val_predict

    n = len(y)
    if n < 4:
        return None
    splitter = KFold(5, shuffle=True, random_state=0) if n >= 10 else LeaveOneOut()
    return cross_val_predict(model, X, y, cv=splitter)


def fit_op_type(op: str, rows: list[dict[str, Any]]) -> tuple[OpModel, dict[str, Any]]:
    """The candidate with the lowest cross-validated MAPE, refitted on every row."""
    X = matrix([r["features"] for r in rows])
    y = np.log(np.array([r["median_ms"] for r in rows]))
    report: dict[str, Any] = {"op": op, "samples": len(rows), "candidates": {}}
    best_name, best_pred, best_mape = None, None, float("inf")
    for name, model in candidates(len(rows)).items():
        pred = cv_predictions(model, X, y)
        if pred is None:
            best_name = name
            break
        m = error_metrics(np.exp(y), np.exp(pred))
        report["candidates"][name] = m
        if m["mape"] < best_mape:
            best_name, best_pred, best_mape = name, pred, m["mape"]
    assert best_name is not None
    final = candidates(len(rows))[best_name].fit(X, y)
    if best_pred is not None:
        q10, q90 = (float(v) for v in np.quantile(y - best_pred, [0.1, 0.9]))
        metrics = report["candidates"][best_name]
    else:  # too few rows to hold any out: an honest, wide interval and no metrics
        q10, q90 = -0.5, 0.5
        metrics = {"mape": None, "within_5": None, "within_10": None, "r2": None, "n": len(rows)}
    report["chosen"] = best_name
    report["metrics"] = metrics
    return OpModel(op, best_name, final, len(rows), metrics, min(q10, 0.0), max(q90, 0.0)), report
