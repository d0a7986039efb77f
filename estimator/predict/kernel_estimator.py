"""Whole-model latency on a GPU delegate, kernel by kernel: the profiles of phones whose
measurements are kernels timed inside whole models (published phones, phones profiled over
adb).

A model's nodes become the delegate's kernels (:mod:`..kernels.plan`, by the profile's learned
rules); a kernel of a kind the profile's rows time is priced by that kind's regressor (its
first computation's node features plus what it links in); the total is the learned
composition (:class:`KernelComposition`): per-run overhead + a scale on the priced kernels + a
cost per kernel dispatched (any kernel) + an extra cost per kernel of a kind the rows never
time (element-wise ops left unlinked, the other layers) and per megabyte such kernels move.

Each node shows the kernel it starts (its time and the nodes linked into it); a node linked
into a kernel shows that kernel's label and costs nothing of its own.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..graph import ModelGraph, read_model
from ..kernels.features import kernel_matrix, moved_mb
from ..kernels.plan import Kernel, plan
from ..kernels.rules import KernelRules
from .estimator import OpModel
from .results import KernelEstimate, ModelEstimate, NodeEstimate

# The composition's columns, summed over a model's kernels.
COLUMNS = ("priced", "kernels", "unpriced", "unpriced_mb")
POOLED = "*"  # the regressor over every priced kind, for kinds with too few rows of their own


@dataclass
class KernelComposition:
    """total_us = invoke_us + sum over columns of coef * column (see the module docstring)."""

    columns: list[str] = field(default_factory=lambda: ["priced"])
    coef: list[float] = field(default_factory=lambda: [1.0])
    invoke_us: float = 0.0
    form: str = "sum of priced kernels"
    log_q05: float | None = None
    log_q95: float | None = None
    report: dict[str, Any] = field(default_factory=dict)

    def per_kernel(self, priced_us: np.ndarray, listed: np.ndarray, mb: np.ndarray) -> np.ndarray:
        """Each kernel's term of the total (µs), the per-run overhead excluded. The per-kernel
        cost may be fitted below zero (a kernel timed in context carries part of its dispatch),
        so a tiny kernel's term can be negative: the total sums the terms as fitted, a badge
        shows at least zero."""
        cols = {
            "priced": priced_us * listed,
            "kernels": np.ones(len(listed)),
            "unpriced": (~listed).astype(float),
            "unpriced_mb": mb * ~listed,
        }
        out = np.zeros(len(listed))
        for name, c in zip(self.columns, self.coef, strict=True):
            out += c * cols[name]
        return out


def composition_sums(priced_us: np.ndarray, listed: np.ndarray, mb: np.ndarray) -> np.ndarray:
    """A model's composition features: its columns summed (:data:`COLUMNS`)."""
    return np.array(
        [
            float(np.sum(priced_us * listed)),
            float(len(listed)),
            float((~listed).sum()),
            float(np.sum(mb * ~listed)),
        ]
    )


@dataclass
class Planned:
    """A graph's kernels with what prices them."""

    graph: ModelGraph
    kernels: list[Kernel]
    listed: np.ndarray  # bool: of a kind a regressor prices
    priced_us: np.ndarray  # the regressor's prediction (0 where unpriced)
    mb: np.ndarray  # activation MB each kernel moves
    lo: np.ndarray  # log-interval of each priced kernel
    hi: np.ndarray


class KernelEstimator:
    """Rules + one regressor per kernel kind + composition for one device profile."""

    kind = "kernels"

    def __init__(
        self,
        device_id: str,
        rules: KernelRules,
        heads: dict[str, OpModel],
        priced: list[str],
        composition: KernelComposition,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.device_id = device_id
        self.rules = rules
        self.heads = heads  # kernel kind -> regressor; POOLED prices kinds too rare for one
        self.priced = sorted(priced)  # the kinds the profile's rows time
        self.composition = composition
        self.metadata = metadata or {}
        self.calibrated = True

    @property
    def gpu(self) -> bool:
        return True

    def regressor(self, head: str) -> OpModel:
        return self.heads.get(head) or self.heads[POOLED]

    def planned(self, graph: ModelGraph) -> Planned:
        kernels = plan(graph, self.rules)
        n = len(kernels)
        priced_kinds = set(self.priced)
        listed = np.array([k.head in priced_kinds for k in kernels], bool)
        priced, lo, hi = np.zeros(n), np.zeros(n), np.zeros(n)
        rows = np.flatnonzero(listed)
        if len(rows):
            X = kernel_matrix(graph, [kernels[i] for i in rows])
            heads = np.array([kernels[i].head for i in rows], dtype=object)
            for head in sorted(set(heads)):
                sel = heads == head
                m = self.regressor(head)
                priced[rows[sel]] = np.exp(m.model.predict(X[sel]))
                lo[rows[sel]], hi[rows[sel]] = m.log_q10, m.log_q90
        mb = np.array([moved_mb(graph, k) for k in kernels])
        return Planned(graph, kernels, listed, priced, mb, lo, hi)

    def totals_us(self, p: Planned) -> tuple[float, np.ndarray]:
        """(the model's total, each kernel's term shown: at least zero)."""
        terms = self.composition.per_kernel(p.priced_us, p.listed, p.mb)
        total = max(self.composition.invoke_us + float(terms.sum()), 1e-3)
        return total, np.maximum(terms, 0.0)

    # --- the estimator interface the CLI, the viewer and search loops use ------------------

    def predict(
        self, model: str | Path | bytes | ModelGraph, name: str | None = None
    ) -> ModelEstimate:
        graph = model if isinstance(model, ModelGraph) else read_model(model, name=name)
        return self._estimate(graph)

    def predict_many(self, models: list[Any]) -> list[ModelEstimate]:
        return [self.predict(m) for m in models]

    def predict_totals(self, models: Iterable[Any], chunk: int = 256) -> np.ndarray:
        out = []
        for m in models:
            graph = m if isinstance(m, ModelGraph) else read_model(m)
            out.append(self.totals_us(self.planned(graph))[0] / 1000)
        return np.array(out)

    def _estimate(self, graph: ModelGraph) -> ModelEstimate:
        p = self.planned(graph)
        total_us, values = self.totals_us(p)
        c = self.composition
        lo_t = total_us * math.exp(min(c.log_q05 or 0.0, 0.0))
        hi_t = total_us * math.exp(max(c.log_q95 or 0.0, 0.0))
        kernels = []
        starts: dict[int, list[int]] = {}
        covered: dict[int, int] = {}
        for j, k in enumerate(p.kernels):
            starts.setdefault(k.primary[0], []).append(j)
            for i in k.nodes:
                covered.setdefault(i, j)
            v = float(values[j]) / 1000
            band = (v * math.exp(p.lo[j]), v * math.exp(p.hi[j])) if p.listed[j] else (v, v)
            kernels.append(
                KernelEstimate(
                    index=j,
                    label=k.label(),
                    head=k.head,
                    nodes=[f"{graph.nodes[i].subgraph}:{graph.nodes[i].index}" for i in k.nodes],
                    ms=v,
                    interval_ms=band,
                    priced=bool(p.listed[j]),
                )
            )
        total_ms = total_us / 1000
        nodes = []
        for i, node in enumerate(graph.nodes):
            mine = starts.get(i, [])
            v = sum(kernels[j].ms for j in mine)
            lo = sum(kernels[j].interval_ms[0] for j in mine)
            hi = sum(kernels[j].interval_ms[1] for j in mine)
            if mine:
                source = "learned" if any(p.listed[j] for j in mine) else "analytic"
                note = self._kernel_note([p.kernels[j] for j in mine], p, mine)
                kernel = kernels[mine[0]].label
            elif i in covered:
                source, kernel = "fused", kernels[covered[i]].label
                note = f"linked into the delegate's kernel {kernel}: no cost of its own"
            else:
                source, kernel = "free", None
                note = _free_note(node.role)
            nodes.append(
                NodeEstimate(
                    subgraph=node.subgraph,
                    index=node.index,
                    op=node.op,
                    ms=v,
                    interval_ms=(lo, hi),
                    share=v / total_ms if total_ms > 0 else 0.0,
                    source=source,
                    fused_activation=node.fused_activation,
                    flops=node.flops,
                    note=note,
                    kernel=kernel,
                )
            )
        return ModelEstimate(
            model=graph.path,
            device=self.device_id,
            total_ms=total_ms,
            total_interval_ms=(lo_t / 1000, hi_t / 1000),
            nodes=nodes,
            invoke_overhead_ms=c.invoke_us / 1000,
            calibrated=True,
            estimator=self.summary(),
            subgraphs=[s.name for s in graph.subgraphs],
            analytic_ms=float(values[~p.listed].sum()) / 1000,
            kernels=kernels,
        )

    def _kernel_note(self, mine: list[Kernel], p: Planned, idx: list[int]) -> str:
        parts = []
        for k, j in zip(mine, idx, strict=True):
            if p.listed[j]:
                extra = f" (linked: {', '.join(k.names)})" if k.names else ""
                parts.append(f"kernel {k.head}{extra}")
            else:
                parts.append(
                    f"kernel {k.head}: a kind this phone's measurements never time, "
                    "priced by the composition (per kernel and per MB it moves)"
                )
        return "; ".join(parts)

    def summary(self) -> dict[str, Any]:
        return {
            "device": self.device_id,
            "calibrated": True,
            "kind": "kernels",
            "learned_kernel_kinds": self.priced,
            "trained_at": self.metadata.get("trained_at"),
            "samples": sum(m.samples for m in self.heads.values()),
            "networks": self.composition.report.get("models", 0),
            "composition": self.composition.form,
        }

    def to_meta(self) -> dict[str, Any]:
        return {
            "rules": self.rules.to_dict(),
            "composition": asdict(self.composition),
            "priced": self.priced,
        }


def _free_note(role: str) -> str:
    if role == "merged":
        return "zero padding merged into the next convolution by the delegate; free"
    if role == "shape":
        return "integer shape arithmetic on a few values; next to nothing per inference"
    if role == "weight_prep":
        return "prepares constant weights once; free per inference"
    return ""
