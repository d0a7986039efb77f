"""Fit the network-level composition (``predict.composition``) on whole generated networks.

Its form — which columns, which cache or activation size, class scales or one scale — is not
picked by hand: every candidate is scored by cross-validation grouped by network family (a
family is never both in training and validation, so the score says how the form does on an
architecture it never saw), and the simplest candidate within one standard error of the best
is kept. The total's 90% interval comes from the out-of-family residuals of that form, and
its coverage is checked family by family with quantiles taken from the other families only.

On a CPU, once any training network's weights overflow the smallest cache considered, every
candidate prices the weights a network streams beyond its cache (``spill:<MB>``, the cache
size still chosen by cross-validation): what the issue found big real networks pay (up to
1.6x the sum of their layers), not a choice the one-standard-error rule may drop when its gain
on the training networks is under one standard error, as it did for some builds (among them
one of 2026-12-07 whose estimate of inception_resnet_v2 at 96 px, 55 MB, went from -2 to
-13 %). The selection rules scored by nested leave-one-family-out cross-validation (each
family held out, the form chosen on the others; ``bench/composition_rules.py``) on three
builds of 2026-12-07 trained with this code (AMD EPYC, 2 cores): the rule before 5.20, 7.43
and 9.89 % MAPE, the best form without the rule 5.31, 6.87 and 9.51 %, this rule 4.89, 7.43
and 9.61 % (the real corpus's networks 5.64 -> 4.94, 6.97 -> 6.97 and 8.95 -> 8.55 %).
A GPU, whose weights live in its own memory, keeps every form.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..predict.composition import OP_CLASSES, Composition, NodeFacts, design

CACHES_MB = (4.0, 8.0, 16.0, 32.0)
ACTIVATIONS_MB = (0.25, 0.5, 1.0, 2.0, 4.0)
BASES = {
    "one scale": ["raw"],
    "one scale, per call": ["raw", "nodes"],
    "class scales, per call": [f"raw:{c}" for c in OP_CLASSES] + ["nodes"],
}
THIN = (None, "raw:thin8", "raw:thin16")
MIN_NETWORKS = 8


@dataclass
class Network:
    facts: NodeFacts
    measured_ms: float
    family: str


COLD = (None, "cold", *(f"cold:{mb:g}" for mb in CACHES_MB))


def candidates(gpu: bool, cold: bool = False) -> list[tuple[str, list[str]]]:
    out = []
    for (base, cols), thin, spill, act, cc in itertools.product(
        BASES.items(), THIN, (None, *CACHES_MB), (None, *ACTIVATIONS_MB), COLD if cold else (None,)
    ):
        columns = list(cols)
        name = [base]
        if thin:
            columns.append(thin)
            name.append(f"thin < {thin[8:]} channels")
        if spill:
            columns.append(f"spill:{spill:g}")
            name.append(f"weights beyond {spill:g} MB")
        if act:
            columns.append(f"act:{act:g}")
            name.append(f"activations over {act:g} MB")
        if cc:
            columns.append(cc)
            name.append("cold-cache extra" + (f" in networks over {cc[5:]} MB" if cc[5:] else ""))
        if gpu:
            columns += ["cpu", "boundaries"]
            name.append("GPU/CPU partitions")
        out.append((", ".join(name), columns))
    return out


def _solve(X: np.ndarray, M: np.ndarray, columns: list[str], floor_ms: float) -> np.ndarray:
    """Relative least squares (every network counts alike, whatever its size), with the
    intercept (invoke) and every scale non-negative; ``nodes`` may go down to -floor_ms, since
    each single-op timing pays one runtime call that a whole network pays once."""
    from scipy.optimize import lsq_linear, nnls

    A = np.column_stack([np.ones(len(M)), X]) / M[:, None]
    b = np.ones(len(M))
    lower = np.array([0.0] + [-floor_ms if c == "nodes" else 0.0 for c in columns])
    # every bound is a lower one: shifted by it, the problem is non-negative least squares,
    # whose active-set solver is exact and far faster than a general bounded one (the form
    # search solves some 17,000 of these); where it gives up (some scipy releases stop at an
    # iteration limit on near-collinear columns), the bounded solver answers instead
    try:
        return nnls(A, b - A @ lower)[0] + lower
    except (RuntimeError, ValueError, np.linalg.LinAlgError):
        return lsq_linear(A, b, bounds=(lower, np.inf)).x


def _predict(X: np.ndarray, coef: np.ndarray) -> np.ndarray:
    return np.maximum(coef[0] + X @ coef[1:], 1e-9)


def _groups(families: Sequence[str]) -> list[np.ndarray]:
    """Held-out index sets: one family at a time (every network at a time when fewer than
    three families were measured)."""
    names = sorted(set(families))
    fam = np.array(families)
    if len(names) >= 3:
        return [np.flatnonzero(fam == f) for f in names]
    return [np.array([i]) for i in range(len(families))]


def fit(
    networks: list[Network], floor_ms: float, gpu: bool = False, cold: bool = False
) -> Composition:
    """The composition chosen by leave-one-family-out cross-validation, refitted on all."""
    if len(networks) < MIN_NETWORKS:
        return _scale_only(networks)
    M = np.array([n.measured_ms for n in networks])
    families = [n.family for n in networks]
    cands = candidates(gpu, cold)
    sums, col = column_sums(cands, networks)
    scored = score_forms(competing(cands, sums, col, gpu), sums, col, M, _groups(families),
                         floor_ms)  # fmt: skip
    chosen = one_standard_error(scored)
    mape, name, columns, held, errors = (
        chosen.mape,
        chosen.name,
        chosen.columns,
        chosen.held,
        chosen.errors,
    )
    X = sums[:, [col[c] for c in columns]]
    coef = _solve(X, M, columns, floor_ms)
    resid = np.log(M / held)
    q05, q95 = (float(q) for q in np.quantile(resid, [0.05, 0.95]))
    raw_sum = sums[:, col["raw"]] if "raw" in col else X.sum(axis=1)
    per_family = {
        f: float(errors[np.array(families) == f].mean() * 100) for f in sorted(set(families))
    }
    report = {
        "form": name,
        "columns": columns,
        "networks": len(M),
        "families": len(set(families)),
        "cv": "leave one family out" if len(set(families)) >= 3 else "leave one network out",
        "cv_mape": mape * 100,
        "cv_within_10": float((errors <= 0.10).mean() * 100),
        "cv_mape_per_family": per_family,
        "mape_sum_of_single_ops": float(np.mean(np.abs(raw_sum - M) / M) * 100),
        "fit_mape": float(np.mean(np.abs(_predict(X, coef) - M) / M) * 100),
        "interval_90": [q05, q95],
        "coverage_90_leave_family_out": _coverage(resid, families),
        "candidates": sorted(
            [{"form": s.name, "cv_mape": s.mape * 100, "columns": len(s.columns)} for s in scored],
            key=lambda r: r["cv_mape"],
        )[:12],
    }
    return Composition(columns=list(columns), coef=[float(c) for c in coef[1:]],
                       invoke_ms=float(coef[0]), networks=len(M), form=name, log_q05=q05,
                       log_q95=q95, report=report)  # fmt: skip


@dataclass
class Scored:
    """A candidate form's leave-one-family-out score: its mean held-out relative error, and
    each network's held-out prediction and error."""

    mape: float
    name: str
    columns: list[str]
    held: np.ndarray
    errors: np.ndarray


def column_sums(
    cands: list[tuple[str, list[str]]], networks: Sequence[Network]
) -> tuple[np.ndarray, dict[str, int]]:
    """Each network's total of every column any of ``cands`` uses, and each column's index."""
    every = sorted({c for _, cols in cands for c in cols})
    sums = np.array([design(every, n.facts).sum(axis=0) for n in networks])
    return sums, {c: i for i, c in enumerate(every)}


def competing(
    cands: list[tuple[str, list[str]]], sums: np.ndarray, col: dict[str, int], gpu: bool
) -> list[tuple[str, list[str]]]:
    """The forms that compete: on a CPU whose training networks overflow a cache, those that
    price the weights beyond it (module docstring); every form else."""
    if not gpu and sums[:, [col[f"spill:{mb:g}"] for mb in CACHES_MB]].any():
        return [(name, cols) for name, cols in cands if any(c.startswith("spill:") for c in cols)]
    return cands


def score_forms(
    cands: list[tuple[str, list[str]]],
    sums: np.ndarray,
    col: dict[str, int],
    M: np.ndarray,
    folds: list[np.ndarray],
    floor_ms: float,
) -> list[Scored]:
    """Every form's held-out predictions over ``folds`` (each network's column sums ``sums``,
    indexed by ``col``; measured ``M``)."""
    out = []
    for name, columns in cands:
        held = np.zeros(len(M))
        for test in folds:
            train = np.setdiff1d(np.arange(len(M)), test)
            held[test] = predict_held_out(columns, sums, col, M, train, test, floor_ms)
        errors = np.abs(held - M) / M
        out.append(Scored(float(errors.mean()), name, columns, held, errors))
    return out


def predict_held_out(
    columns: list[str],
    sums: np.ndarray,
    col: dict[str, int],
    M: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    floor_ms: float,
) -> np.ndarray:
    """The form ``columns`` fitted on the networks ``train``, predicting those of ``test``."""
    X = sums[:, [col[c] for c in columns]]
    return _predict(X[test], _solve(X[train], M[train], columns, floor_ms))


def one_standard_error(scored: list[Scored]) -> Scored:
    """The simplest form (fewest columns) whose error is within one standard error of the
    best's."""
    best = min(scored, key=lambda s: s.mape)
    limit = best.mape + float(best.errors.std(ddof=1) / np.sqrt(len(best.errors)))
    return min((s for s in scored if s.mape <= limit), key=lambda s: (len(s.columns), s.mape))


def _coverage(resid: np.ndarray, families: list[str]) -> float | None:
    """Share of networks inside a 90% interval built from the other families' residuals."""
    fam = np.array(families)
    names = sorted(set(families))
    if len(names) < 3:
        return None
    inside = []
    for f in names:
        other = resid[fam != f]
        lo, hi = np.quantile(other, [0.05, 0.95])
        inside += list((resid[fam == f] >= lo) & (resid[fam == f] <= hi))
    return float(np.mean(inside) * 100)


def _scale_only(networks: list[Network]) -> Composition:
    """Too few networks to choose a form: one scale (their median ratio), if any."""
    if not networks:
        return Composition()
    M = np.array([n.measured_ms for n in networks])
    S = np.array([max(n.facts.raw.sum(), 1e-9) for n in networks])
    scale = float(np.median(M / S))
    return Composition(
        columns=["raw"], coef=[scale], networks=len(M),
        form=f"one scale ({len(M)} networks: too few to choose a form)",
        report={"form": "one scale", "networks": len(M),
                "fit_mape": float(np.mean(np.abs(scale * S - M) / M) * 100),
                "mape_sum_of_single_ops": float(np.mean(np.abs(S - M) / M) * 100)},
    )  # fmt: skip
