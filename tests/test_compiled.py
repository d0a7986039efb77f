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


def test_the_roofline_charges_each_output_pixel_whatever_its_channels():
    """A kernel that loops over pixels (this host's PAD: ~10 ns a pixel on one channel, far
    more than its elements cost) is a cost the FLOPs-and-bytes roofline cannot draw; the
    candidates' roofline has a per-pixel column for it."""
    from leti.estimator.features import FEATURE_NAMES
    from leti.estimator.generate import singles
    from leti.estimator.generate.config import OpConfig
    from leti.estimator.learn.regressors import PIXELS_COLUMN, ResidualOverRoofline

    assert FEATURE_NAMES[PIXELS_COLUMN] == "log_out_pixels"
    shapes = [(h, c) for h in (16, 32, 64, 96) for c in (1, 3, 8, 32, 128)]
    recs = [
        op_record(read_model(singles.build(OpConfig("PAD", dict(h=h, w=h, cin=c, pad=1)))).nodes[0])
        for h, c in shapes
    ]
    X = matrix(recs)
    pixels = np.array([(h + 2) ** 2 for h, _ in shapes], float)
    elements = pixels * np.array([c for _, c in shapes])
    ms = 0.002 + 1e-5 * pixels + 2e-7 * elements  # a pixel costs what 50 elements do
    assert np.allclose(np.expm1(X[:, PIXELS_COLUMN]), pixels)
    thin = np.array([c == 1 for _, c in shapes])
    with_pixels = ResidualOverRoofline(None, (PIXELS_COLUMN,)).fit(X[~thin], np.log(ms[~thin]))
    without = ResidualOverRoofline(None).fit(X[~thin], np.log(ms[~thin]))
    # on the thin maps it never saw: right with the column, far off without
    assert np.allclose(np.exp(with_pixels.predict(X[thin])), ms[thin], rtol=0.05)
    assert np.exp(without.predict(X[thin]))[-1] < 0.2 * ms[thin][-1]  # 96x96x1: 5x too cheap
