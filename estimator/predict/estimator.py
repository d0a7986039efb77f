"""Whole-model latency from per-node predictions, with the runtime's reality applied.

Per node: weight-preparation ops (constant DEQUANTIZE/DENSIFY) cost nothing per inference, nor
does zero padding the runtime merges into the next convolution; op kinds with a regressor are
``learned``; others get the device's analytic throughput and are marked ``analytic`` (custom
ops ``custom``, unless measurements cut out of real models gave them a regressor). Then the
runtime (:mod:`.runtime`): ops the runtime fuses into their producer cost what the fusion
probes measured, and on a GPU the ops its delegate refuses run on the CPU, in partitions.
Finally the network-level composition (:mod:`.composition`) turns the nodes into the total.
"""

from __future__ import annotations

import gc
import math
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..features import matrix, op_kind, op_record
from ..graph import ModelGraph, Node, read_model
from ..ops import FREE_ROLES, SAME_COMPUTATION
from .composition import Composition, NodeFacts
from .results import ModelEstimate, NodeEstimate
from .runtime import Runtime
from .throughput import Throughput


@dataclass
class OpModel:
    """A trained regressor for one op kind, with its held-out error."""

    op: str
    name: str
    model: Any
    samples: int
    metrics: dict[str, float]
    log_q10: float
    log_q90: float


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while graphs are built: a 250-op model is some
    thousand acyclic objects, and the collections they trigger took a third of
    ``predict_many``'s time. Reference counting still frees everything; the collector
    resumes, as it was, on the way out."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@dataclass
class Raw:
    """Per-node single-op predictions before the runtime and the composition."""

    ms: np.ndarray
    source: list[str]
    lo: np.ndarray  # log-interval bounds
    hi: np.ndarray

    def part(self, start: int, end: int) -> Raw:
        return Raw(self.ms[start:end], self.source[start:end], self.lo[start:end],
                   self.hi[start:end])  # fmt: skip


def is_gpu_profile(device_id: str) -> bool:
    """A GPU runs it: the ``gpu`` device, or a phone measured with its GPU delegate."""
    return device_id.startswith("gpu/") or (
        device_id.startswith("adb/") and device_id.endswith("/gpu")
    )


class LatencyEstimator:
    """Per-op regressors + throughput + runtime facts + composition for one device profile.

    Load once (:func:`leti.estimator.predict.store.load`), then :meth:`predict` or
    :meth:`predict_many` as often as an architecture search needs.
    """

    def __init__(
        self,
        device_id: str,
        op_models: dict[str, OpModel],
        throughput: Throughput,
        composition: Composition | None = None,
        runtime: Runtime | None = None,
        metadata: dict[str, Any] | None = None,
        calibrated: bool = True,
    ) -> None:
        self.device_id = device_id
        self.op_models = op_models
        self.throughput = throughput
        self.composition = composition or Composition()
        self.runtime = runtime or Runtime(gpu=is_gpu_profile(device_id))
        self.metadata = metadata or {}
        self.calibrated = calibrated

    @property
    def gpu(self) -> bool:
        return self.runtime.gpu

    # --- per-node single-op predictions ------------------------------------------------------

    def raw(self, nodes: list[Node]) -> Raw:
        """Single-op ms, source and log-interval bounds for every node (batched per op kind)."""
        n = len(nodes)
        ms, lo, hi = np.zeros(n), np.zeros(n), np.zeros(n)
        source = [""] * n
        groups: dict[str, list[int]] = defaultdict(list)
        t = self.throughput
        for i, node in enumerate(nodes):
            kind = op_kind(node)
            if node.role in FREE_ROLES:
                source[i] = "free"
                continue
            if kind in self.op_models:  # custom ops too, once cut out and measured
                source[i] = "learned"
                groups[kind].append(i)
                continue
            if node.role == "custom":
                source[i] = "custom"
                twin = SAME_COMPUTATION.get(node.op)
                if twin in self.op_models:
                    groups[twin].append(i)
                    continue
            else:
                source[i] = "analytic"
            nbytes = node.bytes_activations_read + node.bytes_weights_read + node.bytes_written
            ms[i] = t.predict_ms(node.flops, nbytes)
            lo[i], hi[i] = t.log_residual_q10, t.log_residual_q90
        for kind, idx in groups.items():
            m = self.op_models[kind]  # a custom op with a builtin twin uses the twin's model
            pred = np.exp(m.model.predict(matrix([op_record(nodes[i]) for i in idx])))
            ms[idx] = pred
            lo[idx], hi[idx] = m.log_q10, m.log_q90
        return Raw(ms, source, lo, hi)

    def facts(self, graph: ModelGraph, raw: Raw | None = None) -> NodeFacts:
        """The per-node facts the composition columns are computed from."""
        raw = raw or self.raw(graph.nodes)
        costed = np.array([s != "free" for s in raw.source])
        ms = raw.ms * self.runtime.fused_share(graph.nodes)
        return NodeFacts.of(graph.nodes, ms, costed, self.runtime.on_cpu(graph.nodes))

    # --- prediction --------------------------------------------------------------------------

    def predict(
        self, model: str | Path | bytes | ModelGraph, name: str | None = None
    ) -> ModelEstimate:
        with _gc_paused():
            graph = model if isinstance(model, ModelGraph) else read_model(model, name=name)
            return self._compose(graph, self.raw(graph.nodes))

    def predict_many(self, models: list[str | Path | bytes | ModelGraph]) -> list[ModelEstimate]:
        """Batch many models: one regressor call per op kind across all of them."""
        with _gc_paused():
            graphs = [m if isinstance(m, ModelGraph) else read_model(m) for m in models]
            raw = self.raw([n for g in graphs for n in g.nodes])
            out, start = [], 0
            for g in graphs:
                out.append(self._compose(g, raw.part(start, start + len(g.nodes))))
                start += len(g.nodes)
            return out

    def _compose(self, graph: ModelGraph, raw: Raw) -> ModelEstimate:
        c = self.composition
        f = self.facts(graph, raw)
        values = c.per_node(f)
        total = c.invoke_ms + float(values.sum())
        fused = self.runtime.fused_share(graph.nodes)
        notes = self.runtime.notes(graph.nodes)
        nodes = []
        for i, node in enumerate(graph.nodes):
            v = float(values[i])
            interval = (v * math.exp(raw.lo[i]), v * math.exp(raw.hi[i])) if v else (0.0, 0.0)
            source = raw.source[i]
            if source != "free" and fused[i] < 1.0:
                source = "fused" if fused[i] == 0 else source
            nodes.append(NodeEstimate(
                subgraph=node.subgraph, index=node.index, op=node.op, ms=v,
                interval_ms=interval, share=v / total if total > 0 else 0.0, source=source,
                gpu_unsupported=bool(f.cpu[i]), fused_activation=node.fused_activation,
                flops=node.flops, note=notes[i] or self._note(node, raw.source[i]),
            ))  # fmt: skip
        cpu_ms = float(values[f.cpu].sum())
        return ModelEstimate(
            model=graph.path,
            device=self.device_id,
            total_ms=total,
            total_interval_ms=self._total_interval(total, nodes),
            nodes=nodes,
            invoke_overhead_ms=c.invoke_ms,
            partitions=self.runtime.partitions(graph.nodes, f.cpu) if self.gpu else 1,
            cpu_fallback_ms=cpu_ms,
            calibrated=self.calibrated,
            estimator=self.summary(),
            subgraphs=[s.name for s in graph.subgraphs],
        )

    def _note(self, node: Node, source: str) -> str:
        if source == "custom" and SAME_COMPUTATION.get(node.op) in self.op_models:
            return f"custom op: priced as {SAME_COMPUTATION[node.op]}, the same computation"
        if source == "custom":
            return "custom op: priced analytically from the device's throughput"
        if source == "analytic":
            return self._analytic_note(op_kind(node))
        if node.role == "merged":
            return "zero padding merged into the next convolution by the runtime; free"
        if node.role == "shape":
            return "integer shape arithmetic on a few values; next to nothing per inference"
        if source == "free":
            return "prepares constant weights once; free per inference"
        if node.role == "custom":
            return "custom op: learned from measurements of it cut out of real models"
        return ""

    def _analytic_note(self, op: str) -> str:
        if not self.calibrated:
            n = self.throughput.samples
            return (f"uncalibrated: priced from the device's throughput, fitted on {n} "
                    "micro-benchmark measurements; calibrate for learned estimates")  # fmt: skip
        seen = self.metadata.get("report", {}).get("samples_by_op", {}).get(op, 0)
        if seen:
            return (f"only {seen} measurement(s) of {op} on this device, too few for a "
                    "regressor: priced from the device's throughput")  # fmt: skip
        return f"{op} was never measured on this device: priced from the device's throughput"

    def _total_interval(self, total: float, nodes: list[NodeEstimate]) -> tuple[float, float]:
        if not self.calibrated:
            # One fitted throughput prices every node: its errors do not average out.
            t = self.throughput
            return (total * math.exp(min(t.log_residual_q10, 0.0)),
                    total * math.exp(max(t.log_residual_q90, 0.0)))  # fmt: skip
        c = self.composition
        if c.log_q05 is not None and c.log_q95 is not None:
            return total * math.exp(min(c.log_q05, 0.0)), total * math.exp(max(c.log_q95, 0.0))
        # No networks to calibrate the sum: combine node intervals as independent errors.
        down = math.sqrt(sum((n.ms - n.interval_ms[0]) ** 2 for n in nodes))
        up = math.sqrt(sum((n.interval_ms[1] - n.ms) ** 2 for n in nodes))
        return max(total - down, 0.0), total + up

    def summary(self) -> dict[str, Any]:
        return {
            "device": self.device_id,
            "calibrated": self.calibrated,
            "learned_op_types": sorted(self.op_models),
            "trained_at": self.metadata.get("trained_at"),
            "samples": sum(m.samples for m in self.op_models.values()),
            "networks": self.composition.networks,
            "composition": self.composition.form,
        }
