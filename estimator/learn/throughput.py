"""Fit a device's analytic throughput (overhead + FLOPs / rate + bytes / bandwidth)."""

from __future__ import annotations

import numpy as np

from ..predict.throughput import Throughput


def fit(flops: np.ndarray, nbytes: np.ndarray, ms: np.ndarray) -> Throughput:
    """Non-negative least squares on relative error (each row divided by its latency)."""
    from scipy.optimize import nnls

    flops, nbytes, ms = (np.asarray(a, dtype=float) for a in (flops, nbytes, ms))
    A = np.stack([np.ones_like(ms), flops, nbytes], axis=1) / ms[:, None]
    coef, _ = nnls(A, np.ones_like(ms))
    a, inv_f, inv_b = coef
    # A zero coefficient means "not limited by this"; keep rates finite and huge instead.
    t = Throughput(
        overhead_ms=float(a),
        flops_per_ms=float(1 / inv_f) if inv_f > 0 else 1e15,
        bytes_per_ms=float(1 / inv_b) if inv_b > 0 else 1e15,
        samples=len(ms),
    )
    pred = np.array([t.predict_ms(f, b) for f, b in zip(flops, nbytes, strict=True)])
    r = np.log(ms / np.maximum(pred, 1e-9))
    t.log_residual_q10, t.log_residual_q90 = (float(x) for x in np.quantile(r, [0.1, 0.9]))
    return t
