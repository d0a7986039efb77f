"""How per-node predictions add up to a whole model: a network-level model learned from whole
generated networks (``learn.composition`` chooses its form by cross-validation grouped by
network family), applied node by node so every badge shows its share.

A form is a set of columns, each a per-node quantity summed over the network:

    measured ~= invoke + sum_columns coef_c * sum_i column_c(node_i)

``raw`` is the node's single-op prediction; ``raw:<class>`` the same for one op class (a
class-specific scale); ``nodes`` counts runtime calls (single-op timings pay one each, a
network pays them in one invoke); ``raw:thin<k>`` the single-op time of nodes with fewer than
k output channels (SIMD tiles are 8 or 16 floats wide); ``act:<mb>`` the single-op time of
nodes whose activations exceed mb MB (timed alone they stay in cache, in a network they do
not); ``spill:<mb>`` the weights a node misses in a cache of mb MB only inside the network;
``cpu`` the single-op time of nodes a GPU delegate hands back to the CPU, ``boundaries`` the
GPU<->CPU partition changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..ops import SAME_COMPUTATION

if TYPE_CHECKING:
    from .batch import NodeBatch

OP_CLASSES = ("conv", "depthwise", "dense", "elementwise", "pool", "layout", "other")
_CLASS = {
    "CONV_2D": "conv", "TRANSPOSE_CONV": "conv", "CONV_3D": "conv",
    "DEPTHWISE_CONV_2D": "depthwise",
    "FULLY_CONNECTED": "dense", "BATCH_MATMUL": "dense",
    "AVERAGE_POOL_2D": "pool", "MAX_POOL_2D": "pool", "L2_POOL_2D": "pool", "MEAN": "pool",
    "SUM": "pool", "REDUCE_MAX": "pool", "REDUCE_MIN": "pool", "REDUCE_PROD": "pool",
    "CONCATENATION": "layout", "RESHAPE": "layout", "TRANSPOSE": "layout", "GATHER": "layout",
    "SLICE": "layout", "STRIDED_SLICE": "layout", "SPLIT": "layout", "PAD": "layout",
    "RESIZE_BILINEAR": "layout", "RESIZE_NEAREST_NEIGHBOR": "layout", "DEPTH_TO_SPACE": "layout",
    "SPACE_TO_DEPTH": "layout", "PACK": "layout", "SHAPE": "layout", "SQUEEZE": "layout",
}  # fmt: skip
_ELEMENTWISE = {
    "ADD", "SUB", "MUL", "DIV", "SQUARED_DIFFERENCE", "MAXIMUM", "MINIMUM", "RELU", "RELU6",
    "PRELU", "LOGISTIC", "TANH", "HARD_SWISH", "GELU", "RSQRT", "SQRT", "EXP", "NEG",
    "QUANTIZE", "DEQUANTIZE", "SOFTMAX", "L2_NORMALIZATION", "LEAKY_RELU", "ABS", "CAST",
}  # fmt: skip


def op_class(op: str) -> str:
    base = SAME_COMPUTATION.get(op, op).split(":")[0]
    if base in _ELEMENTWISE:
        return "elementwise"
    return _CLASS.get(base, "other")


@dataclass
class NodeFacts:
    """What the columns are computed from, one entry per node of one graph."""

    raw: np.ndarray  # single-op predictions, ms (0 for free nodes)
    costed: np.ndarray  # bool: the node costs something per inference
    cls: np.ndarray  # object: op class
    cout: np.ndarray  # output channels (last dimension)
    weights_mb: np.ndarray
    act_mb: np.ndarray  # activation megabytes read and written
    cpu: np.ndarray  # bool: a GPU delegate hands it back to the CPU
    boundary: np.ndarray  # bool: it starts a new GPU/CPU partition

    segment: np.ndarray | None = None  # per node, its model (a batch of several); None: one
    # per node, what it costs beyond ``raw`` with its weights evicted from cache (ms); None:
    # no cold-cache timings (bench/cold_layers.py tests whether they help)
    cold: np.ndarray | None = None

    @classmethod
    def of(cls, batch: NodeBatch, raw: np.ndarray, costed: np.ndarray,
           cpu: np.ndarray) -> NodeFacts:  # fmt: skip
        """Facts of a batch's nodes (of one model or of several, model after model)."""
        cols, segment = batch.cols, batch.segment
        classes = batch.kinds.map(op_class)  # an int8 kind is of its op type's class
        # partitions follow the operator order of subgraph 0, starting on the GPU
        idx = np.flatnonzero((cols.subgraph == 0) & costed)
        c, seg = cpu[idx], segment[idx]
        prev = np.zeros(len(idx), bool)
        prev[1:] = np.where(seg[1:] == seg[:-1], c[:-1], False)
        boundary = np.zeros(len(raw), bool)
        boundary[idx] = c != prev
        t = cols.table
        return cls(
            raw=np.where(costed, raw, 0.0), costed=costed, cls=classes, cout=cols.cout,
            weights_mb=np.where(costed, t["b_w"] / 1e6, 0.0),
            act_mb=(t["b_in"] + t["b_out"]) / 1e6, cpu=cpu & costed, boundary=boundary,
            segment=segment,
        )  # fmt: skip


def network_weights_mb(weights_mb: np.ndarray, segment: np.ndarray | None = None) -> np.ndarray:
    """Per node, the weight megabytes of its whole network (``segment``: each node's network,
    when several are stacked)."""
    seg = np.zeros(len(weights_mb), np.int64) if segment is None else segment
    return np.bincount(seg, weights_mb)[seg] if len(seg) else weights_mb


def spilled(weights_mb: np.ndarray, cache_mb: float,
            segment: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """Per node, the weight megabytes it misses in a cache of ``cache_mb`` inside its network
    (which cycles through all the network's weights) beyond what it missed timed alone (its
    own weights only). ``segment``: each node's network, when several are stacked."""
    total = network_weights_mb(weights_mb, segment)
    inside = weights_mb * np.where(total > cache_mb, 1.0 - cache_mb / np.maximum(total, 1e-30),
                                   0.0)  # fmt: skip
    alone = weights_mb * np.where(weights_mb > cache_mb,
                                  1.0 - cache_mb / np.maximum(weights_mb, 1e-30), 0.0)  # fmt: skip
    return np.maximum(inside - alone, 0.0)


def column(name: str, f: NodeFacts) -> np.ndarray:
    """One column's per-node values."""
    kind, _, arg = name.partition(":")
    if name == "nodes":
        return f.costed.astype(float)
    if name == "raw":
        return f.raw
    if kind == "raw" and arg in OP_CLASSES:
        return f.raw * (f.cls == arg)
    if kind == "raw" and arg.startswith("thin"):
        return f.raw * ((f.cout > 0) & (f.cout < float(arg[4:])))
    if kind == "act":
        return f.raw * (f.act_mb > float(arg))
    if kind == "spill":
        return spilled(f.weights_mb, float(arg), f.segment)
    if kind == "cold":
        if f.cold is None:
            raise KeyError("composition column 'cold' needs cold-cache timings")
        if not arg:
            return f.cold
        return f.cold * (network_weights_mb(f.weights_mb, f.segment) > float(arg))
    if name == "cpu":
        return f.raw * f.cpu
    if name == "boundaries":
        return f.boundary.astype(float)
    raise KeyError(f"unknown composition column {name!r}")


def design(columns: list[str], f: NodeFacts) -> np.ndarray:
    """[nodes x columns] matrix; its column sums are a network's features."""
    if not columns:
        return np.zeros((len(f.raw), 0))
    return np.stack([column(c, f) for c in columns], axis=1)


@dataclass
class Composition:
    """A fitted network-level model (see the module docstring)."""

    columns: list[str] = field(default_factory=lambda: ["raw"])
    coef: list[float] = field(default_factory=lambda: [1.0])
    invoke_ms: float = 0.0
    networks: int = 0
    form: str = "sum of single-op predictions (no networks measured)"
    log_q05: float | None = None  # out-of-family residual quantiles: a 90% interval
    log_q95: float | None = None
    report: dict[str, Any] = field(default_factory=dict)

    def per_node(self, f: NodeFacts) -> np.ndarray:
        """Each node's share of the total (never below zero), invoke excluded."""
        values = design(self.columns, f) @ np.array(self.coef, float)
        return np.where(f.costed, np.maximum(values, 0.0), 0.0)
