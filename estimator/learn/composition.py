"""The whole-network correction: what summing single-op predictions misses, fitted on whole
generated networks measured end to end; which optional terms it keeps is decided by
leave-one-out over the networks."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..predict.correction import CACHE_MB, SPILL_MODES, THIN_KEYS, THIN_SETS, Correction
from ..predict.estimator import LatencyEstimator


def fit_correction(
    est: LatencyEstimator, networks: list[tuple[Any, float]], floor_ms: float = 0.0
) -> Correction:
    """Fit :class:`Correction` in relative error; which optional terms (thin-node scale,
    weight spill and its cache size) it keeps is decided by leave-one-out over the networks.

    ``per_node`` may be negative down to ``-floor_ms`` (the fastest single-op measurement):
    every single-op timing carries one call into the runtime that a whole network pays once,
    so summing hundreds of tiny ops overcounts, but never by more than the fastest op took."""
    from scipy.optimize import lsq_linear

    if not networks:
        return Correction()
    terms = [est.raw_terms(graph) for graph, _ in networks]
    M = np.array([ms for _, ms in networks])
    S = np.array([t["sum"] for t in terms])
    N = np.array([t["nodes"] for t in terms])
    T = {k: np.array([t[f"thin:{k}"] for t in terms]) for k in THIN_KEYS}
    W = {
        (m, c): np.array([t[f"spill:{m}:{c:g}"] for t in terms])
        for m in SPILL_MODES
        for c in CACHE_MB
    }
    before = float(np.mean(np.abs(S - M) / M) * 100)
    if len(M) < 8:  # few networks: a scale alone is all they can support
        scale = float(np.median(M / S))
        c = Correction(0.0, scale, 0.0, len(M), terms=["scale"])
        c.mape_before = before
        c.mape_after = float(np.mean(np.abs(scale * S - M) / M) * 100)
        return c

    def design(thin: tuple[str, ...], spill: tuple[str, float] | None) -> np.ndarray:
        # columns: invoke, per node, scale, spill, then one extra scale per thin op set member
        cols = [np.ones(len(M)), N, S]
        cols.append(W[spill] if spill is not None else np.zeros(len(M)))
        cols += [T[k] for k in thin]
        return np.column_stack(cols)

    def solve(X: np.ndarray, keep: np.ndarray) -> np.ndarray:
        A = X[keep] / M[keep, None]
        lower = [0.0, -floor_ms] + [0.0] * (X.shape[1] - 2)
        return lsq_linear(A, np.ones(keep.sum()), bounds=(lower, np.inf)).x

    def loo(X: np.ndarray) -> np.ndarray:
        out = []
        for i in range(len(M)):
            keep = np.ones(len(M), bool)
            keep[i] = False
            out.append(np.log(M[i] / max(float(X[i] @ solve(X, keep)), 1e-9)))
        return np.array(out)

    options = [(thin, spill) for thin in ((), *THIN_SETS) for spill in (None, *W)]
    scored = {opt: loo(design(*opt)) for opt in options}
    best = min(options, key=lambda o: float(np.mean(np.abs(np.expm1(scored[o])))))
    X = design(*best)
    coef = solve(X, np.ones(len(M), bool))
    inv, per_node, scale, spill = coef[:4]
    c = Correction(float(inv), float(scale), float(per_node), len(M))
    c.thin_scales = {k: float(v) for k, v in zip(best[0], coef[4:], strict=True)}
    c.terms = ["invoke", "per node", "scale"] + [f"thin {k}" for k in best[0]]
    if best[1] is not None:
        c.spill_mode, c.cache_mb = best[1]
        c.spill_ms_per_mb = float(spill)
        c.terms.append(f"weight spill over {c.cache_mb:g} MB ({c.spill_mode})")
    c.log_q10, c.log_q90 = (float(v) for v in np.quantile(scored[best], [0.1, 0.9]))
    c.mape_before = before
    c.mape_after = float(np.mean(np.abs(X @ solve(X, np.ones(len(M), bool)) - M) / M) * 100)
    return c
