"""Fit a GPU profile's kernel estimator from kernels timed inside whole models.

Three fits, each from the profile's own rows: the delegate's rules (:mod:`..kernels.learn`,
from the kernel labels), one regressor per kernel kind (log time; the roofline-residual
extra trees of :mod:`.regressors`, with one pooled regressor for kinds too rare for their
own), and the composition of kernels into a model's end-to-end time, its form chosen by
cross-validation grouped by model family (a family is never on both sides).

The composition is fitted on the measured kernel times (what the end-to-end time is made of)
and applied to predicted ones. Its candidates, from the least to the most it assumes:
priced kernels and per-run overhead; plus a cost per kernel dispatched (every kernel); plus
one per megabyte moved by kernels of a kind the rows never time (unlinked element-wise ops and
other layers); plus an extra cost per such kernel. The simplest within one standard error of
the best is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..graph import ModelGraph
from ..kernels.features import DEPTH_COLUMNS, kernel_matrix
from ..kernels.labels import Label
from ..kernels.learn import Labelled, learn
from ..kernels.plan import Kernel, plan
from ..kernels.rules import KernelRules
from ..predict.kernel_estimator import COLUMNS, POOLED

MIN_OWN = 20  # rows of a kind before it gets a regressor of its own
FORMS = {
    "priced kernels + overhead": ["priced"],
    "priced kernels, per kernel + overhead": ["priced", "kernels"],
    "priced kernels, per kernel, per MB of unpriced kernels + overhead": [
        "priced",
        "kernels",
        "unpriced_mb",
    ],
    "priced kernels, per kernel, per unpriced kernel and its MB + overhead": list(COLUMNS),
}


@dataclass
class Profiled:
    """One model of a kernel profile: its graph, the label of each kernel-forming node's
    kernel, each kernel's measured time and the model's end-to-end time (µs)."""

    name: str
    family: str
    graph: ModelGraph
    labels: dict[int, Label]
    times_us: dict[str, float]  # label text -> µs (a kernel over two rows counted once)
    e2e_us: float
    flops: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def kernel_sum_us(self) -> float:
        return float(sum(self.times_us.values()))


def rules_for(models: Sequence[Profiled]) -> KernelRules:
    rules = learn(Labelled(m.graph, m.labels) for m in models)
    rules.learned_from = {"models": len(models), "kernels": rules.learned_from.get("kernels")}
    return rules


@dataclass
class Samples:
    X: np.ndarray
    log_us: np.ndarray
    heads: np.ndarray  # object
    model: np.ndarray  # index into the models list


def samples(models: Sequence[Profiled], rules: KernelRules) -> tuple[Samples, list[list[Kernel]]]:
    """Every planned kernel whose label says the delegate ran the same kind, with its time;
    and each model's planned kernels."""
    rows, ys, heads, owner, plans = [], [], [], [], []
    for mi, m in enumerate(models):
        kernels = plan(m.graph, rules)
        plans.append(kernels)
        mine = []
        for k in kernels:
            lab = m.labels.get(k.primary[0])
            if lab is not None and lab.head == k.head and lab.text in m.times_us:
                mine.append(k)
                ys.append(np.log(max(m.times_us[lab.text], 1e-3)))
                heads.append(k.head)
                owner.append(mi)
        if mine:
            rows.append(kernel_matrix(m.graph, mine))
    X = np.vstack(rows) if rows else np.zeros((0, 0))
    return Samples(X, np.array(ys), np.array(heads, dtype=object), np.array(owner)), plans


# Kinds that loop over input channels per output: their roofline also charges the loop depth.
CONVOLUTIONS = frozenset(
    {
        "convolution_2d",
        "convolution_winograd_4x4_6x6",
        "convolution_2d_grouped",
        "depthwise_convolution",
    }
)


def regressor(head: str = POOLED):
    from sklearn.ensemble import ExtraTreesRegressor

    from .regressors import ResidualOverRoofline

    trees = ExtraTreesRegressor(
        n_estimators=200, max_features=0.8, min_samples_leaf=1, random_state=0, n_jobs=-1
    )
    return ResidualOverRoofline(trees, DEPTH_COLUMNS if head in CONVOLUTIONS else ())


def fit_heads(s: Samples) -> dict[str, object]:
    """A regressor per kind with at least MIN_OWN rows, and the pooled one (POOLED)."""
    out: dict[str, object] = {}
    for head in sorted(set(s.heads)):
        sel = s.heads == head
        if sel.sum() >= MIN_OWN:
            out[head] = regressor(head).fit(s.X[sel], s.log_us[sel])
    out[POOLED] = regressor().fit(s.X, s.log_us)
    return out


def predict_heads(fitted: dict[str, object], X: np.ndarray, heads: np.ndarray) -> np.ndarray:
    out = np.zeros(len(X))
    for head in sorted(set(heads)):
        sel = heads == head
        out[sel] = fitted.get(head, fitted[POOLED]).predict(X[sel])  # type: ignore[attr-defined]
    return out


def solve(sums: np.ndarray, measured: np.ndarray, columns: list[str]) -> np.ndarray:
    """[invoke, coefficients...] by relative least squares, every term non-negative except
    the per-kernel cost (a kernel timed in context already carries some of its dispatch)."""
    from scipy.optimize import lsq_linear

    idx = [COLUMNS.index(c) for c in columns]
    A = np.column_stack([np.ones(len(measured)), sums[:, idx]]) / measured[:, None]
    lower = [0.0] + [-np.inf if c == "kernels" else 0.0 for c in columns]
    return lsq_linear(A, np.ones(len(measured)), bounds=(lower, np.inf)).x


def apply(coef: np.ndarray, sums: np.ndarray, columns: list[str]) -> np.ndarray:
    idx = [COLUMNS.index(c) for c in columns]
    return np.maximum(coef[0] + sums[:, idx] @ coef[1:], 1e-9)


def family_folds(families: Sequence[str]) -> list[np.ndarray]:
    fam = np.array(families)
    return [np.flatnonzero(fam == f) for f in sorted(set(families))]


def choose_form(
    true_sums: np.ndarray, measured: np.ndarray, families: Sequence[str]
) -> tuple[str, dict[str, float]]:
    """The composition form by leave-one-family-out on measured kernel sums: the simplest
    within one standard error of the lowest mean relative error. Returns it and each form's
    cross-validated MAPE."""
    scored = []
    for name, columns in FORMS.items():
        held = np.zeros(len(measured))
        for test in family_folds(families):
            train = np.setdiff1d(np.arange(len(measured)), test)
            held[test] = apply(
                solve(true_sums[train], measured[train], columns), true_sums[test], columns
            )
        errors = np.abs(held - measured) / measured
        scored.append((float(errors.mean()), len(columns), name, errors))
    best = min(scored, key=lambda s: s[0])
    limit = best[0] + float(best[3].std(ddof=1) / np.sqrt(len(measured)))
    chosen = min((s for s in scored if s[0] <= limit), key=lambda s: (s[1], s[0]))
    return chosen[2], {s[2]: s[0] * 100 for s in scored}
