"""The error figures every report uses: MAPE, share within ±5 % / ±10 %, R², Spearman ρ."""

from __future__ import annotations

import numpy as np


def error_metrics(measured: np.ndarray, predicted: np.ndarray) -> dict[str, float | None]:
    """MAPE, share within +-5% / +-10%, and R^2 (in ms)."""
    measured, predicted = np.asarray(measured, float), np.asarray(predicted, float)
    rel = np.abs(predicted - measured) / measured
    ss_res = float(np.sum((measured - predicted) ** 2))
    ss_tot = float(np.sum((measured - measured.mean()) ** 2))
    return {
        "mape": float(rel.mean() * 100),
        "within_5": float((rel <= 0.05).mean() * 100),
        "within_10": float((rel <= 0.10).mean() * 100),
        "r2": 1 - ss_res / ss_tot if ss_tot > 0 else None,
        "n": int(len(measured)),
    }


MIN_FOR_RANKING = 3


def scores(measured: list[float], predicted: list[float]) -> dict[str, float | None]:
    """:func:`error_metrics` plus Spearman's rank correlation, which needs three models at
    least to mean anything (with two it is +-1 whatever the estimator): ``None`` below that."""
    from scipy.stats import spearmanr

    m = error_metrics(np.array(measured), np.array(predicted))
    rho = None
    if len(measured) >= MIN_FOR_RANKING:
        value = float(spearmanr(measured, predicted).statistic)
        rho = value if np.isfinite(value) else None
    m["spearman"] = rho
    return m
