"""Whole-model latency from per-node predictions, with the runtime's reality applied.

Composition rules: weight-preparation ops (constant DEQUANTIZE/DENSIFY) cost nothing per
inference, nor does zero padding the runtime merges into the next convolution; fused
activations are part of their producer's node; op types without a regressor get the device's
analytic estimate and are marked ``analytic``; custom ops are priced analytically and marked
``custom`` unless measurements of them (cut out of real models) gave them a regressor; on a
GPU device, ops the delegate cannot run split the graph into partitions whose boundaries cost
a GPU<->CPU copy each. A correction fitted on whole generated networks (:mod:`.correction`)
closes the gap that summing single-op timings leaves.
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
from ..ops import GPU_PRIOR_SUPPORTED, SAME_COMPUTATION
from ..tflite import ModelGraph, Node, read_model
from .correction import CACHE_MB, SPILL_MODES, THIN_KEYS, Correction, spilled_mb, thin_op
from .results import ModelEstimate, NodeEstimate
from .throughput import Throughput


@dataclass
class OpModel:
    """A trained regressor for one op type, with its held-out error."""

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
    ``predict_many``'s time (98 -> 154 models per second without them). Reference counting
    still frees everything; the collector resumes, as it was, on the way out."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


class LatencyEstimator:
    """Per-op regressors + throughput + correction for one device profile.

    Load once (:func:`leti.estimator.predict.store.load`), then :meth:`predict` or
    :meth:`predict_many` as often as an architecture search needs.
    """

    def __init__(
        self,
        device_id: str,
        op_models: dict[str, OpModel],
        throughput: Throughput,
        correction: Correction | None = None,
        gpu: bool = False,
        metadata: dict[str, Any] | None = None,
        calibrated: bool = True,
    ) -> None:
        self.device_id = device_id
        self.op_models = op_models
        self.throughput = throughput
        self.correction = correction or Correction()
        self.gpu = gpu
        self.metadata = metadata or {}
        self.calibrated = calibrated

    # --- raw per-node predictions ------------------------------------------------------------

    def _raw(self, nodes: list[Node]) -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray]:
        """Uncorrected ms, source, and log-interval bounds for every node (batched per op)."""
        n = len(nodes)
        ms = np.zeros(n)
        lo = np.zeros(n)
        hi = np.zeros(n)
        source = [""] * n
        groups: dict[str, list[int]] = defaultdict(list)
        t = self.throughput
        for i, node in enumerate(nodes):
            kind = op_kind(node)
            if node.role in ("weight_prep", "merged"):
                source[i] = "free"
            elif kind in self.op_models:  # custom ops too, once cut out and measured
                source[i] = "learned"
                groups[kind].append(i)
                continue
            elif node.role == "custom":
                source[i] = "custom"
                twin = SAME_COMPUTATION.get(node.op)
                if twin in self.op_models:
                    groups[twin].append(i)
                    continue
            else:
                source[i] = "analytic"
            if source[i] != "free":
                nbytes = node.bytes_activations_read + node.bytes_weights_read + node.bytes_written
                ms[i] = t.predict_ms(node.flops, nbytes)
                lo[i], hi[i] = t.log_residual_q10, t.log_residual_q90
        for op, idx in groups.items():
            m = self.op_models[op]  # a custom op with a builtin twin uses the twin's model
            X = matrix([op_record(nodes[i]) for i in idx])
            pred = np.exp(m.model.predict(X))
            ms[idx] = pred
            lo[idx], hi[idx] = m.log_q10, m.log_q90
        return ms, source, lo, hi

    def raw_terms(self, graph: ModelGraph) -> dict[str, float]:
        """The sums the whole-network correction is fitted on: single-op predictions (all,
        and thin nodes'), costed nodes, and each candidate spill term's megabytes."""
        ms, source, _, _ = self._raw(graph.nodes)
        out = {"sum": 0.0, "nodes": 0.0}
        out.update({f"thin:{k}": 0.0 for k in THIN_KEYS})
        weights = []
        for node, v, src in zip(graph.nodes, ms, source, strict=True):
            if src == "free":
                continue
            out["sum"] += float(v)
            op = thin_op(node)
            if op is not None:
                out["thin:*"] += float(v)
                if f"thin:{op}" in out and op != "*":
                    out[f"thin:{op}"] += float(v)
            out["nodes"] += 1
            weights.append(node.bytes_weights_read / 1e6)
        for mode in SPILL_MODES:
            for cache in CACHE_MB:
                spilled = spilled_mb(np.array(weights), cache, mode)
                out[f"spill:{mode}:{cache:g}"] = float(spilled.sum())
        return out

    # --- composition -------------------------------------------------------------------------

    def predict(
        self, model: str | Path | bytes | ModelGraph, name: str | None = None
    ) -> ModelEstimate:
        with _gc_paused():
            graph = model if isinstance(model, ModelGraph) else read_model(model, name=name)
            return self._compose(graph, *self._raw(graph.nodes))

    def predict_many(self, models: list[str | Path | bytes | ModelGraph]) -> list[ModelEstimate]:
        """Batch many models: one regressor call per op type across all of them."""
        with _gc_paused():
            return self._predict_many(models)

    def _predict_many(self, models: list[str | Path | bytes | ModelGraph]) -> list[ModelEstimate]:
        graphs = [m if isinstance(m, ModelGraph) else read_model(m) for m in models]
        all_nodes = [n for g in graphs for n in g.nodes]
        ms, source, lo, hi = self._raw(all_nodes)
        out, start = [], 0
        for g in graphs:
            end = start + len(g.nodes)
            out.append(
                self._compose(g, ms[start:end], source[start:end], lo[start:end], hi[start:end])
            )
            start = end
        return out

    def _compose(
        self, graph: ModelGraph, raw: np.ndarray, source: list[str], lo: np.ndarray, hi: np.ndarray
    ) -> ModelEstimate:
        c = self.correction
        nodes: list[NodeEstimate] = []
        costed = [s != "free" for s in source]
        # a negative per-node term (runtime calls counted once per single-op timing) never
        # takes a node below zero
        scales = c.scale + np.array([c.thin_extra(n) for n in graph.nodes])
        weights_mb = np.array([n.bytes_weights_read / 1e6 for n in graph.nodes])
        weights_mb = np.where(costed, weights_mb, 0.0)
        corrected = raw * scales + c.per_node_ms + c.spill_ms_per_mb * c.spilled(weights_mb)
        corrected = np.where(costed, np.maximum(corrected, 0.0), 0.0)
        transfer_ms, partitions = 0.0, 1
        unsupported = [self.gpu and n.op not in GPU_PRIOR_SUPPORTED and s != "free"
                       for n, s in zip(graph.nodes, source, strict=True)]  # fmt: skip
        if self.gpu:
            transfer_ms, partitions, extra = self._partition_costs(graph, unsupported)
            corrected = corrected + extra
        total_nodes = float(corrected.sum())
        total = c.invoke_ms + total_nodes + 0.0
        for i, node in enumerate(graph.nodes):
            v = float(corrected[i])
            interval = (v * math.exp(lo[i]), v * math.exp(hi[i])) if v else (0.0, 0.0)
            note = ""
            if unsupported[i]:
                note = "the GPU delegate cannot run this op: it runs on the CPU"
            elif source[i] == "custom" and SAME_COMPUTATION.get(node.op) in self.op_models:
                note = f"custom op: priced as {SAME_COMPUTATION[node.op]}, the same computation"
            elif source[i] == "custom":
                note = "custom op: priced analytically from the device's throughput"
            elif source[i] == "analytic":
                note = self._analytic_note(op_kind(node))
            elif node.role == "merged":
                note = "zero padding merged into the next convolution by the runtime; free"
            elif source[i] == "free":
                note = "prepares constant weights once; free per inference"
            elif node.role == "custom":
                note = "custom op: learned from measurements of it cut out of real models"
            nodes.append(
                NodeEstimate(
                    subgraph=node.subgraph,
                    index=node.index,
                    op=node.op,
                    ms=v,
                    interval_ms=interval,
                    share=v / total if total > 0 else 0.0,
                    source=source[i],
                    gpu_unsupported=unsupported[i],
                    fused_activation=node.fused_activation,
                    flops=node.flops,
                    note=note,
                )
            )
        return ModelEstimate(
            model=graph.path,
            device=self.device_id,
            total_ms=total,
            total_interval_ms=self._total_interval(total, nodes),
            nodes=nodes,
            invoke_overhead_ms=c.invoke_ms,
            partitions=partitions,
            transfer_ms=transfer_ms,
            calibrated=self.calibrated,
            estimator=self.summary(),
            subgraphs=[s.name for s in graph.subgraphs],
        )

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

    def _partition_costs(
        self, graph: ModelGraph, unsupported: list[bool]
    ) -> tuple[float, int, np.ndarray]:
        """Each GPU->CPU->GPU boundary copies the crossing tensors both ways."""
        extra = np.zeros(len(graph.nodes))
        transfer, partitions, prev = 0.0, 1, False
        for i, node in enumerate(graph.nodes):
            if node.subgraph != 0:
                continue
            if unsupported[i] != prev:
                partitions += 1
            prev = unsupported[i]
            if unsupported[i]:
                nbytes = node.bytes_activations_read + node.bytes_written
                cost = self.throughput.predict_ms(0, nbytes)
                extra[i] = cost
                transfer += cost
        return transfer, partitions, extra

    def _total_interval(self, total: float, nodes: list[NodeEstimate]) -> tuple[float, float]:
        if not self.calibrated:
            # One fitted throughput prices every node: its errors do not average out.
            t = self.throughput
            return total * math.exp(min(t.log_residual_q10, 0.0)), total * math.exp(
                max(t.log_residual_q90, 0.0)
            )
        c = self.correction
        if c.log_q10 is not None and c.log_q90 is not None and c.networks >= 5:
            return total * math.exp(min(c.log_q10, 0.0)), total * math.exp(max(c.log_q90, 0.0))
        # Too few whole networks to calibrate: combine node intervals as independent errors.
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
            "networks": self.correction.networks,
        }
