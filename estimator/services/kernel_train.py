"""Train and score a kernel profile: a GPU whose measurements are kernels timed inside whole
models (the published phones, a phone profiled over adb).

:func:`profiled_models` reads the profile's rows back with each model's graph (the zoo's
skeleton, or the one stored with a profiled model) and says which row is which node
(:mod:`..kernels.match`). :func:`cross_validate` leaves one model family out at a time —
rules, kernel regressors and the composition's form all learned without it — and predicts its
models end to end: that is what ``leti evaluate`` reports for such a profile, beside the two
baselines fitted on the same folds, and where the estimator's intervals come from.
:func:`train_kernels` fits everything on every model.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..db import Database
from ..errors import LetiError
from ..kernels.labels import Label, parse
from ..kernels.match import align
from ..learn import kernels as kl
from ..learn.metrics import scores
from ..predict.estimator import OpModel
from ..predict.kernel_estimator import KernelComposition, KernelEstimator, composition_sums

MIN_MODELS = 6  # and three families: below that no family can be left out honestly
MIN_FAMILIES = 3


def profiled_models(
    db: Database, device_id: str, say: Callable[[str], None] | None = None
) -> list[kl.Profiled]:
    """The profile's models with their graphs and aligned kernel rows (models whose graph is
    not shipped, or that match none of their rows, are left out, saying so)."""
    from .. import zoo

    say = say or (lambda _m: None)
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in db.kernel_times(device_id):
        rows[r["model"]].append(r)
    e2e = {r["model"]: r for r in db.model_times(device_id)}
    out = []
    for name in sorted(set(rows) & set(e2e)):
        if not zoo.has_skeleton(name):
            say(f"{name}: no skeleton shipped, left out")
            continue
        graph = zoo.graph(name)
        mine = sorted(rows[name], key=lambda r: r["position"])
        a = align(graph, [(r["operation"], r["features"] or {}) for r in mine])
        if not a.pairs:
            say(f"{name}: no row matches the rebuilt graph, left out")
            continue
        labels: dict[int, Label] = {}
        for j, node in a.pairs:  # a profiled activation kernel names its op's node again
            labels.setdefault(node, parse(mine[j]["kernel"]))
        times = {mine[j]["kernel"]: float(mine[j]["time_us"]) for j, _ in a.pairs}
        out.append(
            kl.Profiled(
                name,
                zoo.family(name),
                graph,
                labels,
                times,
                float(e2e[name]["mean_us"]),
                float(graph.totals()["flops"]),
                a.problems,
            )
        )
    return out


def rows_hash(db: Database, device_id: str) -> str:
    """A digest of the profile's rows: an evaluation computed on the same rows is reused."""
    import hashlib

    h = hashlib.sha256()
    for r in db.kernel_times(device_id):
        h.update(f"{r['model']}:{r['position']}:{r['kernel']}:{r['time_us']!r};".encode())
    for r in db.model_times(device_id):
        h.update(f"{r['model']}:{r['mean_us']!r};".encode())
    return h.hexdigest()[:16]


def check_enough(device_id: str, models: Sequence[kl.Profiled]) -> None:
    families = {m.family for m in models}
    if len(models) >= MIN_MODELS and len(families) >= MIN_FAMILIES:
        return
    raise LetiError(
        f"{device_id} has kernel rows for {len(models)} models of {len(families)} families: "
        f"too few to train (needs {MIN_MODELS} models of {MIN_FAMILIES} families)",
        "import the phone's measurements first: 'leti db import "
        "../shared/data/mobile-ml-benchmark' (or profile more models)",
    )


def _fold_fit(models: Sequence[kl.Profiled]):
    rules = kl.rules_for(models)
    s, plans = kl.samples(models, rules)
    return rules, s, plans, kl.fit_heads(s)


def _sums(models: Sequence[kl.Profiled], plans, rules, fitted, priced: set[str]) -> np.ndarray:
    """Each model's composition columns with predicted kernel times."""
    from ..kernels.features import kernel_matrix, moved_mb

    out = []
    for m, kernels in zip(models, plans, strict=True):
        listed = np.array([k.head in priced for k in kernels], bool)
        us = np.zeros(len(kernels))
        rows = np.flatnonzero(listed)
        if len(rows):
            X = kernel_matrix(m.graph, [kernels[i] for i in rows])
            heads = np.array([kernels[i].head for i in rows], dtype=object)
            us[rows] = np.exp(kl.predict_heads(fitted, X, heads))
        mb = np.array([moved_mb(m.graph, k) for k in kernels])
        out.append(composition_sums(us, listed, mb))
    return np.array(out)


def _true_sums(models: Sequence[kl.Profiled], plans, priced: set[str]) -> np.ndarray:
    """Composition columns with the measured kernel sum in place of the predicted one."""
    from ..kernels.features import moved_mb

    out = []
    for m, kernels in zip(models, plans, strict=True):
        listed = np.array([k.head in priced for k in kernels], bool)
        mb = np.array([moved_mb(m.graph, k) for k in kernels])
        s = composition_sums(np.zeros(len(kernels)), listed, mb)
        s[0] = m.kernel_sum_us
        out.append(s)
    return np.array(out)


def cross_validate(
    models: Sequence[kl.Profiled], say: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Leave one family out: every model predicted by what was learned without its family."""
    say = say or (lambda _m: None)
    n = len(models)
    measured = np.array([m.e2e_us for m in models])
    families = [m.family for m in models]
    predicted, sum_ratio, flops_prop = np.zeros(n), np.zeros(n), np.zeros(n)
    forms: dict[str, str] = {}
    kernel_resid: dict[str, list[float]] = defaultdict(list)
    for test in kl.family_folds(families):
        fam = families[test[0]]
        train = np.setdiff1d(np.arange(n), test)
        tr = [models[i] for i in train]
        te = [models[i] for i in test]
        rules, s, plans_tr, fitted = _fold_fit(tr)
        priced = set(s.heads)
        true_tr = _true_sums(tr, plans_tr, priced)
        form, _ = kl.choose_form(true_tr, measured[train], [families[i] for i in train])
        forms[fam] = form
        columns = kl.FORMS[form]
        coef = kl.solve(true_tr, measured[train], columns)
        s_te, plans_te = kl.samples(te, rules)
        pred_te = _sums(te, plans_te, rules, fitted, priced)
        predicted[test] = kl.apply(coef, pred_te, columns)
        if len(s_te.X):
            got = kl.predict_heads(fitted, s_te.X, s_te.heads)
            for h, r in zip(s_te.heads, s_te.log_us - got, strict=True):
                kernel_resid[h].append(float(r))
        ratio = np.median(measured[train] / true_tr[:, 0])
        sum_ratio[test] = pred_te[:, 0] * ratio
        per_flop = np.median(measured[train] / [models[i].flops for i in train])
        flops_prop[test] = per_flop * np.array([m.flops for m in te])
        say(f"left out {fam} ({len(test)} models): {form}")
    resid = np.log(measured / predicted)
    fam = np.array(families)
    inside = []
    for f in sorted(set(families)):
        lo, hi = np.quantile(resid[fam != f], [0.05, 0.95])
        inside += list((resid[fam == f] >= lo) & (resid[fam == f] <= hi))
    return {
        "protocol": "leave one model family out (the zoo module that defines it): rules, "
        "kernel regressors and composition form learned without it",
        "models": [
            {
                "model": m.name,
                "family": m.family,
                "measured_ms": m.e2e_us / 1000,
                "predicted_ms": p / 1000,
                "error_pct": (p - m.e2e_us) / m.e2e_us * 100,
                "sum_ratio_ms": sr / 1000,
                "flops_ms": fp / 1000,
            }
            for m, p, sr, fp in zip(models, predicted, sum_ratio, flops_prop, strict=True)
        ],
        "scores": {
            "leti": scores(list(measured), list(predicted)),
            "sum-of-predicted-kernels-x-median-ratio": scores(list(measured), list(sum_ratio)),
            "flops-proportional": scores(list(measured), list(flops_prop)),
        },
        "coverage_90": float(np.mean(inside) * 100),
        "interval_90": [float(q) for q in np.quantile(resid, [0.05, 0.95])],
        "forms": forms,
        "families": len(set(families)),
        "kernel_log_residuals": {h: v for h, v in kernel_resid.items()},
    }


def train_kernels(
    db: Database, device_id: str, log: Callable[[str], None] | None = None
) -> tuple[KernelEstimator, dict[str, Any], dict[str, Any]]:
    """(the estimator with compiled regressors, a report, scikit-learn's fitted models)."""
    from ..learn.compile import compile_regressor
    from ..learn.metrics import error_metrics

    say = log or (lambda _m: None)
    start = time.time()
    models = profiled_models(db, device_id, say)
    check_enough(device_id, models)
    mismatched = [m.name for m in models if m.problems]
    if mismatched:
        say(f"{len(mismatched)} models match their rows only in part: {', '.join(mismatched)}")
    cv = cross_validate(models, say)
    rules, s, plans, fitted = _fold_fit(models)
    priced = set(s.heads)
    true = _true_sums(models, plans, priced)
    measured = np.array([m.e2e_us for m in models])
    form, per_form = kl.choose_form(true, measured, [m.family for m in models])
    coef = kl.solve(true, measured, kl.FORMS[form])
    q05, q95 = cv["interval_90"]
    composition = KernelComposition(
        columns=list(kl.FORMS[form]),
        coef=[float(c) for c in coef[1:]],
        invoke_us=float(coef[0]),
        form=form,
        log_q05=min(q05, 0.0),
        log_q95=max(q95, 0.0),
        report={"models": len(models), "form_cv_mape": per_form},
    )
    heads: dict[str, OpModel] = {}
    per_head = []
    for head, model in fitted.items():
        sel = s.heads == head if head != kl.POOLED else np.ones(len(s.heads), bool)
        resid = (
            np.array(cv["kernel_log_residuals"].get(head, []))
            if head != kl.POOLED
            else np.concatenate([np.array(v) for v in cv["kernel_log_residuals"].values()])
        )
        q10, q90 = np.quantile(resid, [0.1, 0.9]) if len(resid) >= 5 else (-0.5, 0.5)
        metrics = error_metrics(np.exp(resid), np.ones(len(resid))) if len(resid) else {}
        heads[head] = OpModel(
            head,
            "extra-trees",
            compile_regressor(model),
            int(sel.sum()),
            metrics,
            min(float(q10), 0.0),
            max(float(q90), 0.0),
        )
        per_head.append(
            {
                "op": head,
                "samples": int(sel.sum()),
                "chosen": "extra-trees",
                "metrics": {k: metrics.get(k) for k in ("mape", "within_5", "within_10", "r2")},
            }
        )
    rules.learned_from["models"] = len(models)
    est = KernelEstimator(device_id, rules, heads, sorted(priced), composition)
    report = {
        "device": device_id,
        "kind": "kernels",
        "samples": int(len(s.heads)),
        "networks": len(models),
        "op_types": per_head,
        "composition": {
            "form": form,
            "columns": list(kl.FORMS[form]),
            "coef": composition.coef,
            "invoke_us": composition.invoke_us,
            "form_cv_mape": per_form,
        },
        "evaluation": {k: v for k, v in cv.items() if k != "kernel_log_residuals"},
        "rules": {
            "becomes": sorted(rules.becomes),
            "links": len(rules.links),
            "pairs": sorted(k for k, t in rules.pairs.items() if t.get("head") != ""),
        },
        "mismatched_models": mismatched,
        "data_hash": rows_hash(db, device_id),
        "seconds": time.time() - start,
    }
    return est, report, fitted
