"""A phone's CPU by transfer: the host's per-node estimates, scaled op class by op class to
what the phone measured end to end.

The published phones give end-to-end CPU times of the zoo's models on several core sets and
no per-op time. The host estimator prices every node of the same models; a phone's core runs
each op class (convolutions, depthwise convolutions, dense layers, element-wise ops, pooling,
layout) at its own speed relative to the host's, and a phone's memory is far slower against its
cores than a desktop's, so the activations every node reads and writes cost it time the host's
estimate does not scale with:

    phone_ms ~= overhead + sum_class scale_class * host_ms(nodes of that class)
                + cost per compute node + cost per MB of activations moved
                + cost per GFLOP of convolutions and of depthwise convolutions
                + cost per MB of convolution patch matrices (below)

fitted by relative least squares, every term non-negative; the classes scaled from the host's
time are every class but depthwise convolutions, and the compute nodes are convolutions,
depthwise convolutions and dense layers (both below). Every transfer fits that whole form
(:data:`FORM`); the interval comes from the out-of-family residuals. Until 2026-12-07 the form
was chosen by cross-validation grouped by model family among sixteen (one scale or one per
class, each with or without the per-node, activation and per-GFLOP terms), the simplest within
one standard error of the best. That choice was the largest loss left: the nested scores
(bench/phone_cpus.py, 42 profiles, AMD EPYC, 2 cores, two host estimators built that day)
were 75.1 and 76.1 % within ±10 % on average, MAPE 7.1 and 6.9 %, 18 and 16 profiles at 80 %;
choosing the best form without the one-standard-error rule 79.9 and 81.3; the whole form,
no choice, 83.4 and 84.7 %, MAPE 5.9 and 5.7 %, 30 and 33 profiles at 80 % (40 of 42
profiles better and 1 worse on the first). With some 18 families, which form looks best
without a family is itself noisy, and the non-negative fit already leaves a term at zero
where the models give it no weight. Each form's out-of-family error is still in the training
report (:func:`form_scores`).

In that form the activation traffic of layout ops (concatenations, padding, reshapes: copies)
has a price per megabyte of its own, apart from the other nodes' traffic: a copy streams
through memory, where a convolution's or an element-wise op's reads come with its work, and
one price for both over-priced the networks full of copies (DenseNet's concatenations,
the explicit padding before strided depthwise convolutions). bench/phone_cpus.py on the two
host estimators above (``--name phone_cpus_whole_form`` / ``phone_cpus_layout_act`` and
``ab_whole_form`` / ``ab_layout_act``): mean within ±10 % 83.4 -> 86.2 and 84.7 -> 86.3 %,
MAPE 5.9 -> 5.4 and 5.7 -> 5.2 %, profiles at 80 % 30 -> 33 and 33 -> 35 (35 and 25 profiles
better, 2 and 5 worse); DenseNet's mean absolute error 22.6 -> 17.2 and 20.7 -> 14.9 %, and
ProxylessNAS, SqueezeNet, MobileNetV2 and V3, EfficientNet-EdgeTPU and BN-Inception lower too.
Split further (element-wise, pooling and fused nodes each apart) it did worse (78.9 and
79.3 %), and so did a per-node cost for layout ops (85.8 and 85.9 %) or for element-wise ops
(80.4 and 81.0 %) on top of it, in a replica of the script. Found on the 85 models that score
it, as every term was.

The activation term is what lifted the published CPU profiles' out-of-family scores most
(docs/guide.md, bench/phone_cpus.py). The per-GFLOP terms let a phone's convolution
kernels (TensorFlow Lite 2.10 on ARM NEON) run at a rate of their own rather than only at a
multiple of the host's XNNPACK time, whose x86 tiling and cache effects the phone does not
share. bench/phone_cpus.py (42 profiles, models left out by family) without and with them on
one host estimator (AMD EPYC, 2 cores, 2026-12-06): 67.1 -> 69.8 % within ±10 % on average,
MAPE 11.0 -> 10.1 %, profiles at 80 % 6 -> 11 (docs/guide.md).

Depthwise convolutions are priced from their own size on the phone (per node, per activation
megabyte and, in the per-GFLOP forms, per GFLOP), never as a multiple of the host's time for
them: this machine's XNNPACK (x86) runs a 7x7 depthwise convolution at about 300 ms per GFLOP
against 30-50 for 3x3 and 5x5 ones (the host estimator's prices over the dataset's 85 models,
which match host timings of whole models within 3-10 %), a gap no phone shows: ProxylessNAS,
whose depthwise layers are 7x7, ran on the host twice as long as MobileNetV2, and on the
phones about as long. Scaling the host's depthwise time put that x86 quirk into every fit that
had such a family in it. bench/phone_cpus.py (42 profiles, models left out by family) with
depthwise scaled from the host and without, on two host estimators (AMD EPYC, 2 cores,
2026-12-07): mean within ±10 % 67.8 -> 72.1 and 69.8 -> 74.6, MAPE 10.4 -> 8.9 and
10.1 -> 7.8, profiles at 80 % 5 -> 16 and 11 -> 17 (26 and 28 profiles better, 11 and 10
worse). In a quicker replica of that script, always pricing them per GFLOP (every form with
that term) did about a point worse on both, and letting cross-validation choose between the
two ways 1.6 points worse on the one it was tried on.

The per-node cost is charged to compute nodes only (convolutions of every kind, depthwise
convolutions, dense layers): element-wise, pooling and layout ops pay through their scaled host
time and their activation traffic. Charged to every node, the cost fitted on families of few,
heavy layers over-priced MobileNetV3's ~100 nodes, most of them small (squeeze-and-excitation,
hard-swish), by up to 3x on the A03s. bench/phone_cpus.py on the same two host estimators
(2026-12-07), every node charged and compute nodes only: mean within ±10 % 72.1 -> 74.6 and
74.6 -> 75.5, MAPE 8.9 -> 7.6 and 7.8 -> 7.3 (docs/guide.md). Charging the two kinds of node
each a cost of their own did worse (73.0 %, MAPE 10.4, on the first).

Every form also pays per megabyte of the patch matrices (im2col) of convolutions with kernels
over 1x1 (``features.patch_bytes``: each output pixel's kh x kw x in-channels window), whenever
the training models have any: a phone's TensorFlow Lite convolution copies that matrix before
its matrix product, on top of its FLOPs, and narrow networks, with few output channels to share
each window, spend most on it. Grouped convolutions count their windows the same way, although
the reference kernel they run on builds no such matrix: there the figure is an empirical proxy
of their reads, kept because it lowered the out-of-family error (below). And nodes the host
estimator fuses away (a residual ADD after a convolution, free on XNNPACK here) still pay their
activation traffic on the phone, which runs them. Before these, the narrowest ResNet-18s were
under-predicted by 10-40 % on every profile. bench/phone_cpus.py on the two host estimators
above (2026-12-07, ``--name phone_cpus_patch_fused`` / ``ab_patch_fused`` against
``phone_cpus_compute_nodes`` / ``ab_compute_nodes``): mean within ±10 % 74.6 -> 81.4 and 75.5
-> 81.8, MAPE 7.6 -> 6.2 and 7.3 -> 6.0, profiles at 80 % 19 -> 24 and 18 -> 29 (32 and 31
profiles better, 9 and 10 worse). In the quicker replica, steps on the first estimator: the
patch term for ungrouped convolutions 76.4, + the fused nodes' traffic 78.7, + grouped
convolutions' patches 81.4; the patch term as a choice of cross-validation rather than in every
form 81.2. Tried there and not kept, each as an optional term on the code before (74.6): per MB
of every convolution's left-hand matrix, 1x1 ones included (72.6), per MB of weights (72.4),
per convolution GFLOP divided by output channels (72.1). Found on the same 85 models that score
it, like every term here. Tried after it and not kept: each node's host ms raised to a power
below 1 (small layers gain least from more cores), the power chosen by cross-validation among
0.8 and 0.9 within each fold: 81.2 (MAPE 6.0), and worse on the multi-core sets (S10 4 small
48 -> 39).

Grouped convolutions (``CONV_2D:GROUPED``: ResNeXt, RegNet) are priced apart, per GFLOP,
whenever the training models have any. The published phones ran TensorFlow Lite 2.10, whose
CONV_2D falls back to its naive reference kernel for groups > 1 ("Grouped convolution is right
now only supported on reference kernel", tensorflow/lite/kernels/conv.cc), so the host's fast
XNNPACK time for them says nothing of the phone's: on those phones RegNet-X ran 5-7x and ResNeXt
about 2x what the conv scale made of it. The term is part of every form, not a choice of
cross-validation: it is what the runtime does, and with two such families a one-standard-error
rule would drop it whenever one of them is held out. Without grouped convolutions among the
training models there is no evidence of their price, and they are priced as convolutions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from ..ops import GROUPED_CONV
from ..predict.composition import OP_CLASSES, op_class

GROUPED = "grouped"  # a model's GFLOPs of grouped convolutions, priced apart (module docstring)
PATCH = "patch"  # a model's MB of convolution patch matrices, part of every form (docstring)
# a model's activation MB split: layout ops' (copies: concatenation, padding, reshapes) and the
# rest's, each at its own price in the form every transfer fits (module docstring); "act" is
# their sum, the one price of the smaller forms and of transfers stored before the split
ACT_LAYOUT, ACT_REST = "act:layout", "act:rest"

GFLOP_CLASSES = ("conv", "depthwise")  # op classes a form may also price per GFLOP
HOST_SCALED = tuple(c for c in OP_CLASSES if c != "depthwise")  # priced from host ms (above)
NODE_COST_CLASSES = ("conv", "depthwise", "dense")  # the compute nodes: pay per node (above)
_HOST_FORMS = {
    "one scale": ["all"],
    "one scale, per node": ["all", "nodes"],
    "class scales": list(HOST_SCALED),
    "class scales, per node": [*HOST_SCALED, "nodes"],
    "one scale, per activation MB": ["all", "act"],
    "one scale, per node, per activation MB": ["all", "nodes", "act"],
    "class scales, per activation MB": [*HOST_SCALED, "act"],
    "class scales, per node, per activation MB": [*HOST_SCALED, "nodes", "act"],
}
# the form every transfer fits: every term, each non-negative (module docstring)
FORM = "class scales, per node, per activation MB (layout ops apart), per GFLOP of convolutions"
FORMS = {
    **_HOST_FORMS,
    **{
        f"{form}, per GFLOP of convolutions": [*cols, *(f"gflop:{c}" for c in GFLOP_CLASSES)]
        for form, cols in _HOST_FORMS.items()
    },
    FORM: [*HOST_SCALED, "nodes", ACT_REST, ACT_LAYOUT, *(f"gflop:{c}" for c in GFLOP_CLASSES)],
}


@dataclass
class Transfer:
    """A fitted transfer (see the module docstring)."""

    form: str
    columns: list[str]
    coef: list[float]
    overhead_ms: float
    log_q05: float = 0.0
    log_q95: float = 0.0
    report: dict[str, Any] = field(default_factory=dict)
    # the op classes priced as a multiple of the host's time; None in transfers trained
    # before depthwise convolutions were priced apart (their "all" included them)
    host_scaled: list[str] | None = None
    # the op classes that pay the per-node cost; None in transfers trained before it was
    # charged to compute nodes only (every costed node paid it)
    node_classes: list[str] | None = None
    # whether nodes the host fuses away (a residual ADD) still pay their activation traffic;
    # False in transfers trained before that rule (such nodes were free)
    fused_traffic: bool = False

    @cached_property
    def _by_column(self) -> dict[str, float]:
        """Each column's fitted cost, built once: the carried estimate asks for several of
        them for every node of a model."""
        return dict(zip(self.columns, self.coef, strict=True))

    def own_size(self, cls: str) -> bool:
        """Whether ``cls`` is priced from its own size, not from the host's time for it."""
        return self.host_scaled is not None and cls not in self.host_scaled

    def scale_of(self, cls: str) -> float:
        """What a host millisecond of ``cls`` costs on the phone (0 for a class priced from
        its own size, depthwise convolutions in transfers trained since that rule)."""
        if self.own_size(cls):
            return 0.0
        c = self._by_column
        return c.get(cls, c.get("all", 0.0))

    @property
    def per_node_ms(self) -> float:
        return self._by_column.get("nodes", 0.0)

    @property
    def per_act_mb_ms(self) -> float:
        """What one megabyte of activations a node other than a layout op reads and writes
        costs on the phone (0 in forms without that term, and in transfers trained before it
        existed)."""
        c = self._by_column
        return c.get("act", c.get(ACT_REST, 0.0))

    @property
    def per_layout_act_mb_ms(self) -> float:
        """The same for layout ops (module docstring); their one price where the transfer's
        form does not set them apart."""
        c = self._by_column
        return c.get(ACT_LAYOUT, self.per_act_mb_ms)

    @property
    def per_patch_mb_ms(self) -> float:
        """What one megabyte of a convolution's patch matrix costs on the phone (0 in
        transfers trained before the term existed)."""
        return self._by_column.get(PATCH, 0.0)

    def per_gflop_ms(self, cls: str) -> float:
        """What one GFLOP of ``cls`` costs on the phone beyond its scaled host time (0 in
        forms without that term, and in transfers trained before it existed)."""
        return self._by_column.get(f"gflop:{cls}", 0.0)

    @property
    def per_grouped_gflop_ms(self) -> float | None:
        """What one GFLOP of a grouped convolution costs on the phone; None where the
        transfer prices them as convolutions (no evidence, or trained before the term)."""
        return self._by_column.get(GROUPED)

    def node_columns(self, node: Any) -> dict[str, float]:
        """A host-estimated node's columns under the rules this transfer was fitted with
        (:func:`node_columns`; ``None`` rules are those of transfers stored before them)."""
        return node_columns(
            node,
            OP_CLASSES if self.host_scaled is None else self.host_scaled,
            OP_CLASSES if self.node_classes is None else self.node_classes,
            self.fused_traffic,
        )

    def terms(self, cols: dict[str, float]) -> dict[str, float]:
        """What each fitted column makes of a node's (or a model's) columns, ms; their sum is
        its price on the phone, the per-run overhead left out."""
        apart = GROUPED in self.columns
        return {c: k * _value(cols, c, apart) for c, k in self._by_column.items()}


def model_columns(
    by_class_ms: dict[str, float],
    nodes: int,
    act_mb: float = 0.0,
    grouped_gflop: float = 0.0,
    grouped_ms: float = 0.0,
    gflop_by_class: dict[str, float] | None = None,
    patch_mb: float = 0.0,
    layout_act_mb: float = 0.0,
) -> dict[str, float]:
    """A model's columns: host ms per op class (grouped convolutions left out of
    ``by_class_ms``), in all (the classes priced from the host's time: depthwise
    convolutions left out, module docstring), its compute nodes (``nodes``: convolutions
    grouped or not, depthwise convolutions, dense layers), the activation megabytes its
    nodes read and write (those the host fuses away included: the phone runs them), its
    grouped convolutions' GFLOPs and host ms (priced as convolutions when a transfer does not
    price them apart), the GFLOPs of its convolutions and depthwise convolutions
    (``gflop_by_class``, grouped ones left out) and the megabytes of its convolutions' patch
    matrices (``patch_mb``, features.patch_bytes). ``layout_act_mb`` is the layout ops' part
    of ``act_mb``."""
    out = {c: float(by_class_ms.get(c, 0.0)) for c in OP_CLASSES}
    out["all"] = float(sum(out[c] for c in HOST_SCALED))
    for c in GFLOP_CLASSES:
        out[f"gflop:{c}"] = float((gflop_by_class or {}).get(c, 0.0))
    out["nodes"] = float(nodes)
    out["act"] = float(act_mb)
    out[ACT_LAYOUT] = float(layout_act_mb)
    out[ACT_REST] = float(act_mb - layout_act_mb)
    out[GROUPED] = float(grouped_gflop)
    out["grouped_ms"] = float(grouped_ms)
    out[PATCH] = float(patch_mb)
    return out


def node_columns(
    node: Any,
    host_scaled: Sequence[str] = HOST_SCALED,
    node_classes: Sequence[str] = NODE_COST_CLASSES,
    fused_traffic: bool = True,
) -> dict[str, float]:
    """One node of a host estimate (a ``NodeEstimate``) as its share of its model's columns,
    the one rule both sides use: a model's row is the sum of its nodes' (what a transfer is
    fitted on) and a carried node costs its own share priced by the fitted costs
    (:meth:`Transfer.terms`), so a carried total is exactly the fit's prediction for the model.
    Free nodes add nothing; nodes the host fuses away (a residual ADD) only their activation
    traffic, where ``fused_traffic`` (the phone runs them); a grouped convolution its GFLOPs
    and host ms apart (priced per GFLOP or, without that term, as a convolution: :func:`_value`)
    and every other node its host ms under its op class, under "all" too where its class is
    scaled from the host's time, and its GFLOPs where its class may be priced per GFLOP. The
    defaults are today's rules; a transfer stored under older ones passes its own."""
    if node.source == "free":
        return {}
    cls = op_class(node.op)
    mb = node.act_bytes / 1e6
    # its traffic in all ("act") and in its own part (layout ops apart, module docstring)
    act = {"act": mb, ACT_LAYOUT if cls == "layout" else ACT_REST: mb} if mb else {}
    if node.source == "fused":
        return act if fused_traffic else {}
    out: dict[str, float] = {**act, "nodes": float(cls in node_classes)}
    if node.patch_bytes:
        out[PATCH] = node.patch_bytes / 1e6
    if node.kind == GROUPED_CONV:
        out[GROUPED] = node.flops / 1e9
        out["grouped_ms"] = node.ms
        return out
    out[cls] = node.ms
    if cls in host_scaled:
        out["all"] = node.ms
    if cls in GFLOP_CLASSES:
        out[f"gflop:{cls}"] = node.flops / 1e9
    return out


def nodes_row(nodes: Sequence[Any]) -> dict[str, float]:
    """A model's columns as the sum of its nodes' (:func:`node_columns`), every column
    present."""
    row = model_columns({}, 0)
    for n in nodes:
        for c, v in node_columns(n).items():
            row[c] += v
    return row


def columns_of(form: str, rows: Sequence[dict[str, float]]) -> list[str]:
    """A form's columns for a transfer fitted on ``rows``: the patch-matrix term when any of
    them has convolutions with a patch matrix, and grouped convolutions priced apart when any
    of them has some, else left in the convolutions (module docstring)."""
    patch = [PATCH] if any(r.get(PATCH, 0.0) > 0 for r in rows) else []
    apart = [GROUPED] if any(r.get(GROUPED, 0.0) > 0 for r in rows) else []
    return [*FORMS[form], *patch, *apart]


def _solve(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    from scipy.optimize import nnls

    A = np.column_stack([np.ones(len(y)), X]) / y[:, None]
    coef, _ = nnls(A, np.ones(len(y)))
    return coef


def _value(r: dict[str, float], c: str, apart: bool) -> float:
    """Column ``c`` of a model's or a node's columns; a transfer that does not price grouped
    convolutions apart counts their host ms in "conv" and "all", as convolutions."""
    v = r.get(c, 0.0)
    return v + r.get("grouped_ms", 0.0) if not apart and c in ("conv", "all") else v


def _design(rows: Sequence[dict[str, float]], columns: list[str]) -> np.ndarray:
    """[models x columns] (:func:`_value`)."""
    apart = GROUPED in columns
    return np.array([[_value(r, c, apart) for c in columns] for r in rows])


def _folds(families: Sequence[str]) -> list[np.ndarray]:
    fam = np.array(families)
    return [np.flatnonzero(fam == f) for f in sorted(set(families))]


def cross_validate(
    rows: Sequence[dict[str, float]],
    measured: Sequence[float],
    families: Sequence[str],
    form: str | None = None,
) -> np.ndarray:
    """Each model predicted by ``form`` (by default :data:`FORM`) fitted without its family."""
    y = np.asarray(measured, float)
    held = np.zeros(len(y))
    for test in _folds(families):
        train = np.setdiff1d(np.arange(len(y)), test)
        X = _design(rows, columns_of(form or FORM, [rows[i] for i in train]))
        coef = _solve(X[train], y[train])
        held[test] = np.maximum(coef[0] + X[test] @ coef[1:], 1e-9)
    return held


def prices_depthwise(columns: Sequence[str]) -> bool:
    """Whether a form charges depthwise convolutions anything: they are not scaled from the
    host's time, so only a per-node, per-activation-megabyte or per-GFLOP term prices them."""
    return any(c in columns for c in ("nodes", "act", ACT_REST, "gflop:depthwise"))


def candidates(rows: Sequence[dict[str, float]]) -> list[str]:
    """The forms cross-validation may choose from: with depthwise convolutions among the
    models, only those that charge them something (a form leaving them free is no model of
    a phone)."""
    depthwise = any(r.get("depthwise", 0.0) > 0 or r.get("gflop:depthwise", 0.0) > 0 for r in rows)
    return [f for f, cols in FORMS.items() if not depthwise or prices_depthwise(cols)]


def form_scores(
    rows: Sequence[dict[str, float]], measured: Sequence[float], families: Sequence[str]
) -> dict[str, float]:
    """Each candidate form's out-of-family MAPE (%), for the training report: the smaller
    forms beside the one every transfer fits (:data:`FORM`, module docstring)."""
    y = np.asarray(measured, float)
    return {
        form: float(np.mean(np.abs(cross_validate(rows, y, families, form) - y) / y) * 100)
        for form in candidates(rows)
    }


def fit(
    rows: Sequence[dict[str, float]], measured: Sequence[float], families: Sequence[str]
) -> Transfer:
    """:data:`FORM` fitted on every model, its interval from out-of-family residuals."""
    form, per_form = FORM, form_scores(rows, measured, families)
    y = np.asarray(measured, float)
    columns = columns_of(form, rows)
    coef = _solve(_design(rows, columns), y)
    held = cross_validate(rows, y, families, form)
    resid = np.log(y / held)
    q05, q95 = (float(q) for q in np.quantile(resid, [0.05, 0.95]))
    return Transfer(
        form
        + (", patch matrices per MB" if PATCH in columns else "")
        + (", grouped convolutions per GFLOP" if GROUPED in columns else ""),
        list(columns),
        [float(c) for c in coef[1:]],
        float(coef[0]),
        min(q05, 0.0),
        max(q95, 0.0),
        {"form_cv_mape": per_form, "models": len(y)},
        list(HOST_SCALED),
        list(NODE_COST_CLASSES),
        fused_traffic=True,
    )
