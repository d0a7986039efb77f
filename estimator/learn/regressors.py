"""The candidate per-op-type regressors, all predicting log-latency.

Trees alone cannot extrapolate: a layer with four times the largest FLOPs seen in training
would be predicted as fast as the largest. Each tree model therefore learns the residual over
the op type's roofline, which carries the trend beyond the data.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.ensemble import (
    ExtraTreesRegressor,
    HistGradientBoostingRegressor,
    RandomForestRegressor,
    VotingRegressor,
)

from ..features import FEATURE_NAMES

FLOPS_COLUMNS = [FEATURE_NAMES.index(f) for f in ("log_flops", "log_flops_pad8", "log_flops_pad16")]
BYTES_COLUMN = FEATURE_NAMES.index("log_bytes_total")
# Output pixels: a per-pixel cost in every op type's roofline (candidates below). Kernels that
# loop over pixels pay for each one whatever its channels: this host's PAD took ~10 ns a pixel
# on 1 channel (256x256: 627 µs) and ~0.2 ns an element beyond; a 1x1 average pool of stride 2
# 40-70 ns an output pixel. Without it the roofline (FLOPs, bytes) could not fit them: PAD's
# cross-validated MAPE was 47.6 %, with it 8.5 % (module docstring of the candidates' use).
PIXELS_COLUMN = FEATURE_NAMES.index("log_out_pixels")


def _design(X: np.ndarray, extra: tuple[int, ...] = ()) -> np.ndarray:
    """Roofline columns: a constant, FLOPs (plain and channel-tile padded), bytes moved, and
    any ``extra`` feature columns (log1p-scaled, taken back to their scale). A table narrower
    than the feature table (scikit-learn's estimator checks) has the columns it holds."""
    width = X.shape[1]
    flops = [c for c in FLOPS_COLUMNS if c < width]
    nbytes = [BYTES_COLUMN] if BYTES_COLUMN < width else []
    more = [c for c in extra if c < width]
    # built column by column as the compiled predictor builds it: the same bits
    return np.column_stack([np.ones(len(X)), np.expm1(X[:, flops]), np.expm1(X[:, nbytes]),
                            np.expm1(X[:, more])])  # fmt: skip


class ResidualOverRoofline(RegressorMixin, BaseEstimator):
    """``trees`` fitted on what the op type's roofline leaves unexplained, in log space.

    The roofline is overhead + FLOPs/rate (FLOPs also counted over padded channel tiles) +
    bytes/bandwidth, all non-negative; it carries the trend beyond the training range, where
    trees alone would flatten out. ``extra``: more feature columns the roofline may charge
    for (a GPU kernel's loop depth, which bounds it when too few outputs fill the GPU)."""

    def __init__(self, trees: Any = None, extra: tuple[int, ...] = ()) -> None:
        self.trees = trees
        self.extra = extra

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        # a roofline alone fits latencies shaped like a roofline, not arbitrary targets
        tags.regressor_tags.poor_score = self.trees is None
        # NaN features go where the trees send them; the roofline reads no NaN of real rows
        tags.input_tags.allow_nan = self.trees is not None
        return tags

    def _finite(self) -> bool | str:
        return "allow-nan" if self.trees is not None else True

    def _base(self, X: np.ndarray) -> np.ndarray:
        return np.log(np.maximum(_design(X, self.extra) @ self.coef_, 1e-6))

    def fit(self, X: np.ndarray, y: np.ndarray) -> ResidualOverRoofline:
        from scipy.optimize import nnls
        from sklearn.utils.validation import validate_data

        X, y = validate_data(self, X, y, y_numeric=True, ensure_all_finite=self._finite())
        ms = np.exp(np.clip(y, -700.0, 700.0))
        A = _design(X, self.extra)
        self.coef_, _ = nnls(A / ms[:, None], np.ones_like(ms))
        if not np.any(self.coef_):
            self.coef_ = np.zeros(A.shape[1])
            self.coef_[0] = float(np.median(ms))
        residual = y - self._base(X)
        self.trees_ = clone(self.trees).fit(X, residual) if self.trees is not None else None
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        from sklearn.utils.validation import check_is_fitted, validate_data

        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite=self._finite())
        out = self._base(X)
        if self.trees_ is not None:
            out = out + self.trees_.predict(X)
        return out


def candidates(n_samples: int) -> dict[str, Any]:
    """Models compared by cross-validation for one op type with ``n_samples`` rows."""
    leaf = max(2, n_samples // 25)
    et = ExtraTreesRegressor(n_estimators=60, min_samples_leaf=1, max_features=0.8, random_state=0)
    rf = RandomForestRegressor(n_estimators=60, max_features=0.6, random_state=0)
    hgb = HistGradientBoostingRegressor(
        max_iter=150, learning_rate=0.1, max_leaf_nodes=15, min_samples_leaf=leaf, random_state=0
    )
    # smoother trees: a few odd configurations (1 channel in and out) must not spike their
    # neighbours' residuals
    et3 = clone(et).set_params(min_samples_leaf=3)
    rf3 = clone(rf).set_params(min_samples_leaf=3)
    pixels = (PIXELS_COLUMN,)
    out: dict[str, Any] = {"roofline": ResidualOverRoofline(None, pixels)}
    if n_samples >= 8:
        out["extra-trees"] = ResidualOverRoofline(et, pixels)
        out["random-forest"] = ResidualOverRoofline(rf, pixels)
    if n_samples >= 30:
        out["extra-trees(leaf 3)"] = ResidualOverRoofline(et3, pixels)
        out["random-forest(leaf 3)"] = ResidualOverRoofline(rf3, pixels)
    if n_samples >= 8:
        out["hist-gbm"] = ResidualOverRoofline(hgb, pixels)
        out["ensemble(et+hgb)"] = ResidualOverRoofline(
            VotingRegressor([("et", clone(et)), ("hgb", clone(hgb))]), pixels
        )
    return out
