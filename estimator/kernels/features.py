"""Feature rows of kernels: the node features of the kernel's first computation
(:func:`..features.from_table`, so the regressors' roofline reads the same columns), then what
the kernel does beyond it: how many nodes the delegate linked into it, the bytes of the extra
tensors those read (a residual ADD reads a second activation), and a second computation the
delegate merged into it (a depthwise convolution's 1x1 convolution)."""

from __future__ import annotations

import numpy as np

from ..features import FEATURE_NAMES, from_table, op_record, table
from ..graph import ModelGraph
from .plan import Kernel, operand

KERNEL_OPS = (
    "CONV_2D",
    "DEPTHWISE_CONV_2D",
    "FULLY_CONNECTED",
    "MEAN",
    "AVERAGE_POOL_2D",
    "MAX_POOL_2D",
    "CONCATENATION",
)
KERNEL_FEATURE_NAMES = (
    *FEATURE_NAMES,
    "linked",
    "linked_nodes",
    "log_linked_tensor_bytes",
    "computations",
    "log_second_flops",
    "op_code",
    "log_depth",
    "log_depth_slices",
)
# A convolution's loop depth: the inputs each output reads (kernel² · Cin, and in slices of 4
# channels, a GPU's vector width). With too few outputs to fill the GPU, time follows the
# depth, not the FLOPs: DenseNet's 3x3 convolutions to 32 channels on a 14x14 map run 1.7x
# what a FLOPs roofline fitted on other families says (Pixel 4, in context).
DEPTH_COLUMNS = (
    KERNEL_FEATURE_NAMES.index("log_depth"),
    KERNEL_FEATURE_NAMES.index("log_depth_slices"),
)


_KERNEL = FEATURE_NAMES.index("kernel")
_CIN = FEATURE_NAMES.index("log_cin")


def kernel_matrix(graph: ModelGraph, kernels: list[Kernel]) -> np.ndarray:
    """One row per kernel (columns: :data:`KERNEL_FEATURE_NAMES`)."""
    if not kernels:
        return np.zeros((0, len(KERNEL_FEATURE_NAMES)))
    nodes = graph.nodes
    base = from_table(table([op_record(nodes[k.primary[0]]) for k in kernels]))
    extra = np.zeros((len(kernels), len(KERNEL_FEATURE_NAMES) - len(FEATURE_NAMES)))
    for r, k in enumerate(kernels):
        linked = [nodes[i] for i in k.linked if i >= 0]
        tensor_bytes = sum(
            t.nbytes
            for n in linked
            if operand(n) == "tensor"
            for t in n.inputs
            if not t.is_constant
        )
        op = nodes[k.primary[0]].op
        t = base[r]
        area = t[_KERNEL] ** 2  # the kernel size column is not log-scaled
        cin = np.expm1(t[_CIN])
        extra[r] = (
            len(k.linked),
            len(linked),
            np.log1p(tensor_bytes),
            len(k.primary),
            np.log1p(sum(nodes[i].flops for i in k.primary[1:])),
            KERNEL_OPS.index(op) if op in KERNEL_OPS else -1,
            np.log1p(area * cin),
            np.log1p(area * np.ceil(cin / 4)),
        )
    return np.hstack([base, extra])


def moved_mb(graph: ModelGraph, kernel: Kernel) -> float:
    """Activation megabytes a kernel reads and writes (what a memory-bound kernel costs)."""
    seen: set[int] = set()
    total = 0
    for i in kernel.nodes:
        for t in graph.nodes[i].inputs + graph.nodes[i].outputs:
            if not t.is_constant and t.index not in seen:
                seen.add(t.index)
                total += t.nbytes
    return total / 1e6
