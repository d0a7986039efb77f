"""Arithmetic cost of every TFLite operator, from its tensor shapes and options, for all the
nodes of a model (or of a batch of models) at once.

MACs count multiply-accumulates of the op's main product (convolutions, matrix products);
FLOPs are ``2 * MACs`` plus one per element for everything else the op does (bias, fused
activation, element-wise math), the convention of nn-Meter and most mobile papers. Bytes are
those of the activations read, the weights read and the outputs written; parameters are the
weights' elements. Node objects carry the same numbers (:mod:`.objects`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..ops import (
    ELEMENTWISE_BINARY,
    ELEMENTWISE_UNARY_COST,
    NORMALIZATIONS,
    POOLS,
    REDUCTIONS,
    TRANSPOSE_CONV_CUSTOM,
)

if TYPE_CHECKING:
    from .coded import Coded
    from .columns import Attrs, Edges, Operands, Tensors


@dataclass
class Costs:
    """Per node (floats holding whole numbers)."""

    macs: np.ndarray
    flops: np.ndarray
    params: np.ndarray  # elements of the weights read
    b_in: np.ndarray  # bytes of the activations read
    b_w: np.ndarray  # bytes of the weights read
    b_out: np.ndarray  # bytes written


def of(
    ops: Coded,
    t: Tensors,
    const: np.ndarray,
    inputs: Edges,
    outputs: Edges,
    o: Operands,
    attrs: Attrs,
) -> Costs:
    """Every node's costs; ``const`` says which tensors are weights."""
    numel, nb = t.numel.astype(float), t.nbytes.astype(float)
    weight = const[inputs.tensor]
    read = nb[inputs.tensor]
    out_numel = outputs.sums(numel[outputs.tensor])
    macs = _macs(ops, t, inputs, o)
    extra = np.where(attrs.act > 0, out_numel, 0.0)  # a fused activation: one per element
    bias = ops.isin(["CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"]) & (inputs.count > 2)
    bias |= ops.eq("TRANSPOSE_CONV") & (inputs.count > 3)
    unary = ops.map(lambda name: ELEMENTWISE_UNARY_COST.get(name, 0), float)
    window = np.where(attrs.filter_h >= 0, attrs.filter_h, 1)
    window = window * np.where(attrs.filter_w >= 0, attrs.filter_w, 1)
    flops = np.select(
        [
            macs != 0,
            ops.isin(ELEMENTWISE_BINARY),
            ops.isin(ELEMENTWISE_UNARY_COST),
            ops.isin(POOLS),
            ops.isin(REDUCTIONS) & (o.first >= 0),
            ops.isin(NORMALIZATIONS),
            ops.eq("RESIZE_BILINEAR"),
        ],
        [
            2 * macs + np.where(bias, out_numel, 0.0) + extra,
            out_numel + extra,
            out_numel * unary,
            out_numel * window + extra,
            t.numel_of(o.first),
            5 * out_numel,
            8 * out_numel,
        ],
        0.0,
    )
    return Costs(
        macs=macs,
        flops=flops,
        params=inputs.sums(np.where(weight, numel[inputs.tensor], 0.0)),
        b_in=inputs.sums(np.where(weight, 0.0, read)),
        b_w=inputs.sums(np.where(weight, read, 0.0)),
        b_out=outputs.sums(nb[outputs.tensor]),
    )


def _macs(ops: Coded, t: Tensors, inputs: Edges, o: Operands) -> np.ndarray:
    w = o.second  # the filter or weights
    rank = t.rank_of(w)
    out = t.numel_of(o.out0)
    kk = t.dim(w, 1) * t.dim(w, 2)
    # filter [Cout, kh, kw, Cin/groups]: each output element sums kh*kw*Cin/groups products
    conditions = [
        ops.eq("CONV_2D") & (rank == 4),
        ops.eq("DEPTHWISE_CONV_2D") & (rank == 4),
        ops.eq("CONV_3D") & (rank == 5),
        ops.eq("FULLY_CONNECTED") & (rank == 2),
        # output_shape, weights [Cout, kh, kw, Cin], input: every input element is scattered
        # into kh*kw*Cout outputs
        ops.eq("TRANSPOSE_CONV") & (inputs.count > 2) & (rank == 4),
        # MediaPipe's transposed convolution: input, weights [Cout, kh, kw, Cin], bias
        ops.eq(TRANSPOSE_CONV_CUSTOM) & (rank == 4),
        ops.eq("BATCH_MATMUL") & (inputs.count > 1) & (t.rank_of(o.first) > 0),
    ]
    rows = np.floor(t.numel_of(o.first) / np.maximum(t.dim(w, 1), 1))
    choices = [
        out * kk * t.dim(w, 3),
        out * kk,
        out * t.dim(w, 0) * kk * t.dim(w, 3),
        rows * t.dim(w, 0) * t.dim(w, 1),
        t.numel_of(o.third) * kk * t.dim(w, 0),
        t.numel_of(o.first) * kk * t.dim(w, 0),
        out * t.last_of(o.first),
    ]
    macs = np.select(conditions, choices, 0.0)
    return np.where((o.first >= 0) & (o.out0 >= 0), macs, 0.0)
