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
from typing import Any

import numpy as np

from ..graph import Node
from ..ops import SAME_COMPUTATION

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

    @classmethod
    def of(cls, nodes: list[Node], raw: np.ndarray, costed: np.ndarray,
           cpu: np.ndarray | None = None) -> NodeFacts:  # fmt: skip
        n = len(nodes)
        cpu = np.zeros(n, bool) if cpu is None else cpu
        boundary = np.zeros(n, bool)
        prev = False
        for i, node in enumerate(nodes):  # partitions follow the operator order of subgraph 0
            if node.subgraph == 0 and costed[i]:
                boundary[i] = bool(cpu[i]) != prev
                prev = bool(cpu[i])
        return cls(
            raw=np.where(costed, raw, 0.0),
            costed=costed,
            cls=np.array([op_class(n.op) for n in nodes], dtype=object),
            cout=np.array(
                [n.outputs[0].shape[-1] if n.outputs and n.outputs[0].shape else 0 for n in nodes],
                float,
            ),  # fmt: skip
            weights_mb=np.where(costed, [n.bytes_weights_read / 1e6 for n in nodes], 0.0),
            act_mb=np.array([(n.bytes_activations_read + n.bytes_written) / 1e6 for n in nodes]),
            cpu=cpu & costed,
            boundary=boundary,
        )


def _miss(mb: float, cache_mb: float) -> float:
    """Share of a cyclically read footprint of ``mb`` that a cache of ``cache_mb`` misses."""
    return 1.0 - cache_mb / mb if mb > cache_mb else 0.0


def spilled(weights_mb: np.ndarray, cache_mb: float) -> np.ndarray:
    """Per node, the weight megabytes it misses in the cache inside the network (which cycles
    through all its weights) beyond what it missed timed alone (its own weights only)."""
    inside = weights_mb * _miss(float(weights_mb.sum()), cache_mb)
    alone = np.array([w * _miss(w, cache_mb) for w in weights_mb])
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
        return spilled(f.weights_mb, float(arg))
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
