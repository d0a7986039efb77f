"""Compile a fitted regressor (``regressors.ResidualOverRoofline`` around scikit-learn tree
ensembles) into :class:`~leti.estimator.predict.compiled.Compiled` arrays."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..predict.compiled import Compiled, Ensemble, Trees
from .regressors import BYTES_COLUMN, FLOPS_COLUMNS


def compile_regressor(model: Any) -> Compiled:
    trees = getattr(model, "trees_", None)
    return Compiled(np.asarray(model.coef_, float), list(FLOPS_COLUMNS), BYTES_COLUMN,
                    _ensemble(trees) if trees is not None else None,
                    [int(c) for c in getattr(model, "extra", ())])  # fmt: skip


def _ensemble(est: Any) -> Ensemble:
    name = type(est).__name__
    if name in ("RandomForestRegressor", "ExtraTreesRegressor"):
        return Ensemble("mean", _decision_trees([e.tree_ for e in est.estimators_]))
    if name == "HistGradientBoostingRegressor":
        predictors = [p[0] for p in est._predictors]  # one tree per iteration (regression)
        return Ensemble("sum", _hgb_trees(predictors), float(est._baseline_prediction.ravel()[0]))
    if name == "VotingRegressor":
        return Ensemble("vote", members=[_ensemble(e) for e in est.estimators_])
    raise TypeError(f"cannot compile a {name}")


def _decision_trees(trees: list[Any]) -> Trees:
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("f", "t", "l", "r", "v", "m")}
    roots, offset = [], 0
    for t in trees:
        n = t.node_count
        leaf = t.children_left < 0
        roots.append(offset)
        parts["f"].append(np.where(leaf, 0, t.feature))
        parts["t"].append(t.threshold)
        parts["l"].append(np.where(leaf, -1, t.children_left + offset))
        parts["r"].append(np.where(leaf, -1, t.children_right + offset))
        parts["v"].append(t.value[:, 0, 0])
        parts["m"].append(np.asarray(getattr(t, "missing_go_to_left", np.zeros(n)), bool))
        offset += n
    return _trees(parts, roots, float32_input=True)


def _hgb_trees(predictors: list[Any]) -> Trees:
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("f", "t", "l", "r", "v", "m")}
    roots, offset = [], 0
    for p in predictors:
        nodes = p.nodes
        leaf = nodes["is_leaf"].astype(bool)
        if nodes["is_categorical"].any():
            raise TypeError("categorical splits are not compiled")
        roots.append(offset)
        parts["f"].append(np.where(leaf, 0, nodes["feature_idx"]))
        parts["t"].append(nodes["num_threshold"])
        parts["l"].append(np.where(leaf, -1, nodes["left"].astype(np.int64) + offset))
        parts["r"].append(np.where(leaf, -1, nodes["right"].astype(np.int64) + offset))
        parts["v"].append(nodes["value"])
        parts["m"].append(nodes["missing_go_to_left"].astype(bool))
        offset += len(nodes)
    return _trees(parts, roots, float32_input=False)


def _trees(parts: dict[str, list[np.ndarray]], roots: list[int], float32_input: bool) -> Trees:
    cat = {k: np.concatenate(v) if v else np.zeros(0) for k, v in parts.items()}
    return Trees(
        feature=cat["f"].astype(np.int32), threshold=cat["t"].astype(np.float64),
        left=cat["l"].astype(np.int32), right=cat["r"].astype(np.int32),
        value=cat["v"].astype(np.float64), roots=np.array(roots, np.int32),
        missing_left=cat["m"].astype(bool), float32_input=float32_input,
    )  # fmt: skip
