"""Fitted per-op regressors compiled to plain arrays, so prediction needs neither scikit-learn
nor unpickling: a cold ``leti estimate`` loads a few small ``.npz`` files, only for the op
kinds the model holds.

A regressor (``learn.regressors.ResidualOverRoofline``) is a non-negative roofline in log
space plus, usually, a tree ensemble on its residual: a random forest or extra trees (the
mean of their trees), a histogram gradient boosting model (a baseline plus the sum of its
trees), or a voting average of one of each. Every tree becomes node arrays; prediction walks
all (row, tree) pairs at once, then adds the leaves tree by tree in the fitted model's order,
so the result equals scikit-learn's to the last bit (``tests/test_compiled.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class Trees:
    """Trees flattened into one node table; ``left`` is -1 at a leaf."""

    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray
    roots: np.ndarray
    missing_left: np.ndarray  # bool: where a missing (NaN) feature goes
    float32_input: bool  # scikit-learn's decision trees compare features cast to float32

    def leaves(self, X: np.ndarray) -> np.ndarray:
        """[rows x trees] leaf values."""
        Xc = X.astype(np.float32).astype(np.float64) if self.float32_input else X
        rows, trees = np.meshgrid(np.arange(len(X)), np.arange(len(self.roots)), indexing="ij")
        rows, trees = rows.ravel(), trees.ravel()
        node = self.roots[trees].astype(np.int64)
        active = np.flatnonzero(self.left[node] >= 0)
        while len(active):
            n = node[active]
            x = Xc[rows[active], self.feature[n]]
            go_left = (x <= self.threshold[n]) | (np.isnan(x) & self.missing_left[n])
            node[active] = np.where(go_left, self.left[n], self.right[n])
            active = active[self.left[node[active]] >= 0]
        return self.value[node].reshape(len(X), len(self.roots))


@dataclass
class Ensemble:
    """``kind``: "mean" (forests: trees summed in order, then divided), "sum" (boosting: a
    baseline, then trees added in order) or "vote" (the average of its members)."""

    kind: str
    trees: Trees | None = None
    baseline: float = 0.0
    members: list[Ensemble] = field(default_factory=list)

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self.kind == "vote":
            return np.average(np.asarray([m.predict(X) for m in self.members]).T, axis=1)
        assert self.trees is not None
        leaves = self.trees.leaves(X)
        out = np.zeros(len(X)) + self.baseline if self.kind == "sum" else np.zeros(len(X))
        for t in range(leaves.shape[1]):
            out += leaves[:, t]
        return out / leaves.shape[1] if self.kind == "mean" else out


@dataclass
class Compiled:
    """A regressor of log-latency: roofline, plus an ensemble on its residual."""

    coef: np.ndarray  # roofline: [1, FLOPs, FLOPs on 8-tiles, FLOPs on 16-tiles, bytes, extra]
    flops: list[int]  # feature columns (log1p-scaled) the roofline reads
    nbytes: int
    ensemble: Ensemble | None = None
    extra: list[int] = field(default_factory=list)  # more log1p-scaled columns it charges for

    def predict(self, X: np.ndarray) -> np.ndarray:
        design = np.column_stack([np.ones(len(X)), np.expm1(X[:, self.flops]),
                                  np.expm1(X[:, self.nbytes]),
                                  np.expm1(X[:, self.extra])])  # fmt: skip
        out = np.log(np.maximum(design @ self.coef, 1e-6))
        if self.ensemble is not None:
            out = out + self.ensemble.predict(X)
        return out


# --- saving and loading --------------------------------------------------------------------


def to_arrays(model: Compiled) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {"coef": model.coef, "flops": np.array(model.flops),
                                  "nbytes": np.array([model.nbytes]),
                                  "extra": np.array(model.extra, np.int64)}  # fmt: skip
    if model.ensemble is not None:
        _put(out, "e", model.ensemble)
    return out


def _put(out: dict[str, np.ndarray], prefix: str, e: Ensemble) -> None:
    out[f"{prefix}.kind"] = np.array([e.kind])
    out[f"{prefix}.baseline"] = np.array([e.baseline])
    if e.trees is not None:
        for name in ("feature", "threshold", "left", "right", "value", "roots", "missing_left"):
            out[f"{prefix}.{name}"] = getattr(e.trees, name)
        out[f"{prefix}.f32"] = np.array([e.trees.float32_input])
    for i, m in enumerate(e.members):
        _put(out, f"{prefix}.{i}", m)
    out[f"{prefix}.members"] = np.array([len(e.members)])


def from_arrays(a: Any) -> Compiled:
    ens = _get(a, "e") if "e.kind" in a else None
    extra = [int(i) for i in a["extra"]] if "extra" in a else []
    return Compiled(a["coef"], [int(i) for i in a["flops"]], int(a["nbytes"][0]), ens, extra)


def _get(a: Any, prefix: str) -> Ensemble:
    trees = None
    if f"{prefix}.roots" in a:
        names = ("feature", "threshold", "left", "right", "value", "roots", "missing_left")
        trees = Trees(*(a[f"{prefix}.{n}"] for n in names),
                      float32_input=bool(a[f"{prefix}.f32"][0]))  # fmt: skip
    members = [_get(a, f"{prefix}.{i}") for i in range(int(a[f"{prefix}.members"][0]))]
    return Ensemble(str(a[f"{prefix}.kind"][0]), trees, float(a[f"{prefix}.baseline"][0]), members)


def save(model: Compiled, path: Path) -> None:
    tmp = path.with_suffix(".part.npz")
    np.savez(tmp, **to_arrays(model))
    tmp.replace(path)


def load(path: Path) -> Compiled:
    with np.load(path, allow_pickle=False) as a:
        return from_arrays({k: a[k] for k in a.files})


class LazyCompiled:
    """A compiled regressor read from its ``.npz`` the first time it predicts: a model holding
    five op kinds loads five files, not the whole estimator."""

    def __init__(self, path: Path, fix: str) -> None:
        self.path, self.fix = path, fix
        self._model: Compiled | None = None

    @property
    def model(self) -> Compiled:
        if self._model is None:
            try:
                self._model = load(self.path)
            except Exception as exc:  # a damaged or missing file, whatever numpy says about it
                from ..errors import LetiError

                raise LetiError(
                    f"the estimator file {self.path} cannot be loaded ({type(exc).__name__})",
                    self.fix,
                ) from None
        return self._model

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.model.predict(X)
