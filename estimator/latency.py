"""Whole-model latency from per-node predictions, with the runtime's reality applied.

Composition rules: weight-preparation ops (constant DEQUANTIZE/DENSIFY) cost nothing per
inference, nor does zero padding the runtime merges into the next convolution; fused
activations are part of their producer's node; op types without a regressor get the device's
analytic estimate and are marked ``analytic``; custom ops are priced analytically and marked
``custom`` unless measurements of them (cut out of real models) gave them a regressor; on a
GPU device, ops the delegate cannot run split the graph into partitions whose boundaries cost
a GPU<->CPU copy each. A correction fitted on whole generated networks (per-invocation and
per-node overhead, and a scale) closes the gap that summing single-op timings leaves.
"""

from __future__ import annotations

import gc
import math
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .features import matrix, op_record
from .graph import ModelGraph, Node, read_model
from .throughput import Throughput

# Ops the TFLite GPU delegate runs, a best-effort list from its op parsers (plus the MediaPipe
# custom ops it ships kernels for); anything else falls back to the CPU in its own partition.
# On a real phone, `benchmark_model` reports the actual split, which leti records.
GPU_SUPPORTED = {
    "ABS", "ADD", "AVERAGE_POOL_2D", "BATCH_MATMUL", "CAST", "CONCATENATION", "CONV_2D", "COS",
    "DENSIFY", "DEPTH_TO_SPACE", "DEPTHWISE_CONV_2D", "DEQUANTIZE", "DIV", "ELU", "EQUAL", "EXP",
    "FLOOR", "FLOOR_DIV", "FLOOR_MOD", "FULLY_CONNECTED", "GATHER", "GREATER", "GREATER_EQUAL",
    "HARD_SWISH", "LEAKY_RELU", "LESS", "LESS_EQUAL", "LOG", "LOGISTIC", "MAX_POOL_2D",
    "MAXIMUM", "MEAN", "MINIMUM", "MIRROR_PAD", "MUL", "NEG", "NOT_EQUAL", "PACK", "PAD",
    "PADV2", "POW", "PRELU", "QUANTIZE", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD", "RELU",
    "RELU6", "RELU_N1_TO_1", "RESHAPE", "RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR", "RSQRT",
    "SIN", "SLICE", "SOFTMAX", "SPACE_TO_DEPTH", "SPLIT", "SQRT", "SQUARE",
    "SQUARED_DIFFERENCE", "STRIDED_SLICE", "SUB", "SUM", "TANH", "TILE", "TRANSPOSE",
    "TRANSPOSE_CONV", "UNPACK",
    "CUSTOM:Convolution2DTransposeBias", "CUSTOM:MaxPoolingWithArgmax2D",
    "CUSTOM:MaxUnpooling2D",
}  # fmt: skip


# Custom ops that compute exactly what a builtin does, priced with the builtin's regressor.
# Measured on the host: MediaPipe's Convolution2DTransposeBias and a TRANSPOSE_CONV of the same
# shapes time within 1-9 % of each other (six layers of hair/selfie segmentation).
SAME_COMPUTATION = {"CUSTOM:Convolution2DTransposeBias": "TRANSPOSE_CONV"}


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


# Inside a network a thin PReLU runs slower than alone: measured on the host, a PReLU between
# two 1x1 convolutions at 128x128 adds 0.08 ms to the 0.04 ms it takes alone at 4 or 8
# channels, and nothing at 16; HARD_SWISH, LOGISTIC or a separate RELU there add nothing.
THIN_CHANNELS = 16
# Op types a thin-node context term can be learned for ("*": every thin node); training
# picks which set (or none) by leave-one-out.
THIN_SETS: tuple[tuple[str, ...], ...] = (("PRELU",), ("PRELU", "TRANSPOSE_CONV"), ("*",))
THIN_KEYS = ("PRELU", "TRANSPOSE_CONV", "*")


def thin_op(node: Node) -> str | None:
    """The op type (a custom op's builtin twin) of a node with few output channels, else None."""
    out = node.outputs[0].shape if node.outputs else []
    if not out or not 0 < out[-1] < THIN_CHANNELS:
        return None
    return SAME_COMPUTATION.get(node.op, node.op)


@dataclass
class Correction:
    """What summing single-op timings misses, learned from whole generated networks:

    measured ~= invoke_ms + per_node_ms * nodes + sum_i (scale + thin_i) * node_i
                + spill_ms_per_mb * sum_i spilled_mb_i

    (thin_i: ``thin_scales[op]`` for a node of fewer than THIN_CHANNELS output channels whose
    op has a term, or ``thin_scales["*"]`` when the term covers every thin node; else 0.)
    The last term: timed alone, an op finds its weights in the cache (as much of them as fit);
    in a network whose weights exceed the cache they stream from memory on every inference
    (generated networks with 28-68 MB of weights ran 0.5-1.2 ms slower than their layers
    alone). ``spill_mode`` says which bytes count: "network", every node's weights times the
    share of the network's weights the cache misses; or "beyond-alone" (:func:`spilled_mb`),
    only what the op did not already miss timed alone, so a single-op model is predicted as
    measured (a 5 MB classifier layer cost the same in MobileNetV2-0.35 as by itself)."""

    invoke_ms: float = 0.0
    scale: float = 1.0
    per_node_ms: float = 0.0
    networks: int = 0
    thin_scales: dict[str, float] = field(default_factory=dict)
    spill_ms_per_mb: float = 0.0
    cache_mb: float | None = None
    spill_mode: str = "beyond-alone"
    terms: list[str] = field(default_factory=list)
    log_q10: float | None = None
    log_q90: float | None = None
    mape_before: float | None = None
    mape_after: float | None = None

    def thin_extra(self, node: Node) -> float:
        op = thin_op(node) if self.thin_scales else None
        if op is None:
            return 0.0
        return self.thin_scales.get(op, self.thin_scales.get("*", 0.0))

    def spilled(self, weights_mb: np.ndarray) -> np.ndarray:
        """Per node, the megabytes of weights it reads from memory only inside the network."""
        if self.cache_mb is None:
            return np.zeros_like(weights_mb)
        return spilled_mb(weights_mb, self.cache_mb, self.spill_mode)


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


# Cache sizes (MB) and spill forms tried for the weight-spill term; leave-one-out picks.
CACHE_MB = (4.0, 8.0, 16.0, 24.0, 32.0, 48.0)
SPILL_MODES = ("network", "beyond-alone")


def _miss(mb: np.ndarray | float, cache_mb: float) -> np.ndarray:
    """Share of a cyclically read footprint of ``mb`` that a cache of ``cache_mb`` misses."""
    mb = np.asarray(mb, dtype=float)
    return np.where(mb > cache_mb, 1.0 - cache_mb / np.maximum(mb, 1e-12), 0.0)


def spilled_mb(weights_mb: np.ndarray, cache_mb: float, mode: str = "beyond-alone") -> np.ndarray:
    """Weights each node misses in the cache within the network (whose total weights it
    cycles through), less (``beyond-alone``) what it missed timed alone (its own only)."""
    missed = weights_mb * _miss(float(weights_mb.sum()), cache_mb)
    if mode == "network":
        return missed
    return np.maximum(missed - weights_mb * _miss(weights_mb, cache_mb), 0.0)


@dataclass
class NodeEstimate:
    subgraph: int
    index: int
    op: str
    ms: float
    interval_ms: tuple[float, float]
    share: float
    source: str  # learned | analytic | free | custom
    gpu_unsupported: bool = False
    fused_activation: str = "NONE"
    flops: int = 0
    note: str = ""

    @property
    def key(self) -> str:
        return f"{self.subgraph}:{self.index}"


@dataclass
class ModelEstimate:
    model: str
    device: str
    total_ms: float
    total_interval_ms: tuple[float, float]
    nodes: list[NodeEstimate]
    invoke_overhead_ms: float = 0.0
    partitions: int = 1
    transfer_ms: float = 0.0
    calibrated: bool = True
    estimator: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for n in d["nodes"]:
            n["interval_ms"] = list(n["interval_ms"])
        d["total_interval_ms"] = list(self.total_interval_ms)
        return d

    def slowest(self, k: int = 10) -> list[NodeEstimate]:
        return sorted(self.nodes, key=lambda n: n.ms, reverse=True)[:k]


class LatencyEstimator:
    """Per-op regressors + throughput + correction for one device profile.

    Load once (:func:`leti.estimator.store.load`), then :meth:`predict` or
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
            if node.role in ("weight_prep", "merged"):
                source[i] = "free"
            elif node.op in self.op_models:  # custom ops too, once cut out and measured
                source[i] = "learned"
                groups[node.op].append(i)
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
        unsupported = [self.gpu and n.op not in GPU_SUPPORTED and s != "free"
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
                note = "no measurements of this op type: priced from the device's throughput"
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
        )

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
