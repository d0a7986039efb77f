"""Compiled regressors (what ``leti estimate`` loads) predict exactly what the fitted
scikit-learn models predict: every candidate form, fitted on the smoke build's real
measurements, before and after saving to ``.npz``."""

from __future__ import annotations

import numpy as np
import pytest
from leti.estimator.db import open_db
from leti.estimator.features import matrix, op_record
from leti.estimator.graph import read_model
from leti.estimator.learn.compile import compile_regressor
from leti.estimator.learn.regressors import candidates
from leti.estimator.predict.compiled import LazyCompiled, load, save
from sklearn.utils.estimator_checks import parametrize_with_checks


@pytest.fixture(scope="module")
def rows(smoke_home):
    import os

    old = os.environ.get("LETI_HOME")
    os.environ["LETI_HOME"] = str(smoke_home[0])
    try:
        db = open_db()
        (device_id,) = [d for d in db.device_ids() if d.startswith("host/")]
        out = [r for r in db.measurements(device_id) if r["features"] and r["median_ms"]]
    finally:
        if old is not None:
            os.environ["LETI_HOME"] = old
    assert len(out) >= 30  # enough for every candidate form
    return out


def test_every_candidate_compiles_exactly(rows, tf_model, tmp_path):
    X = matrix([r["features"] for r in rows])
    y = np.log(np.array([r["median_ms"] for r in rows]))
    # rows the trees never saw: the nodes of a converter-built model, and shifted copies
    unseen = matrix([op_record(n) for n in read_model(tf_model("small_net")).nodes])
    probe = np.vstack([X, unseen, X * 1.07, X + 0.5])
    for name, model in candidates(len(rows)).items():
        model.fit(X, y)
        expected = model.predict(probe)
        compiled = compile_regressor(model)
        assert np.array_equal(compiled.predict(probe), expected), name
        save(compiled, tmp_path / "m.npz")
        assert np.array_equal(load(tmp_path / "m.npz").predict(probe), expected), name


def test_missing_values_follow_the_fitted_trees(rows):
    """A NaN feature goes where scikit-learn sends it (trees fitted with missing values)."""
    from leti.estimator.learn.regressors import ResidualOverRoofline
    from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor

    X = matrix([r["features"] for r in rows])
    y = np.log(np.array([r["median_ms"] for r in rows]))
    holed = X.copy()
    holed[::3, 5] = np.nan
    for trees in (HistGradientBoostingRegressor(max_iter=20, random_state=0),
                  RandomForestRegressor(n_estimators=10, random_state=0)):  # fmt: skip
        model = ResidualOverRoofline(trees)
        model.fit(X, y)
        model.trees_.fit(holed, y - model._base(X))  # the same trees, now seeing NaNs
        assert np.array_equal(compile_regressor(model).predict(holed), model.predict(holed))


def test_a_damaged_file_is_a_clear_error(tmp_path):
    from leti.estimator.errors import LetiError

    bad = tmp_path / "CONV_2D.npz"
    bad.write_bytes(b"not numpy")
    lazy = LazyCompiled(bad, "run 'leti train --device host'")
    with pytest.raises(LetiError, match="cannot be loaded"):
        lazy.predict(np.zeros((1, 31)))


# --- the custom regressor keeps scikit-learn's estimator contract -----------------------------


def _regressors():
    from leti.estimator.learn.regressors import ResidualOverRoofline
    from sklearn.ensemble import ExtraTreesRegressor

    return [
        ResidualOverRoofline(None),
        ResidualOverRoofline(ExtraTreesRegressor(n_estimators=5, random_state=0)),
    ]


@parametrize_with_checks(_regressors())
def test_residual_over_roofline_is_a_scikit_learn_estimator(estimator, check):
    check(estimator)
