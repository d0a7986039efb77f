"""Per-node quantities of the feature table (:data:`~leti.estimator.features.TABLE_KEYS`)
computed for every node of the column reader's arrays at once: shapes folded to height, width
and channels, MACs, FLOPs, bytes read and written, as :mod:`.costs` computes them node by node
for the object reader."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ops import (
    ELEMENTWISE_BINARY,
    ELEMENTWISE_UNARY_COST,
    NORMALIZATIONS,
    POOLS,
    REDUCTIONS,
    TRANSPOSE_CONV_CUSTOM,
)
from .coded import Coded
from .schema_tables import ACTIVATIONS

MAX_RANK = 6
_FEATURE_ACT = {"NONE": 0, "RELU": 1, "RELU6": 2, "RELU_N1_TO_1": 3, "TANH": 4, "SIGN_BIT": 5}
_ACT_CODE = np.array([_FEATURE_ACT.get(a, 0) for a in ACTIVATIONS], float)


@dataclass
class Tensors:
    count: int
    dims: np.ndarray  # [tensors x MAX_RANK], padded with 1
    rank: np.ndarray
    dtype: np.ndarray
    numel: np.ndarray
    nbytes: np.ndarray
    const: np.ndarray
    dynamic: np.ndarray
    last: np.ndarray  # the last dimension (0 for a scalar)


def node_table(ops: Coded, custom, t, const, ins, in_node, outs, out_node, in_len, first, second,
               third, out0, a0, a1, opts, n) -> dict[str, np.ndarray]:  # fmt: skip
    numel = t.numel.astype(float)
    out_numel = np.bincount(out_node, numel[outs], minlength=n)
    nb = t.nbytes.astype(float)
    b_in = np.bincount(in_node, np.where(const[ins], 0.0, nb[ins]), minlength=n)
    b_w = np.bincount(in_node, np.where(const[ins], nb[ins], 0.0), minlength=n)
    b_out = np.bincount(out_node, nb[outs], minlength=n)
    params = np.bincount(in_node, np.where(const[ins], numel[ins], 0.0), minlength=n)

    def dim(tensor: np.ndarray, k: int) -> np.ndarray:
        return np.where(tensor >= 0, t.dims[np.maximum(tensor, 0), k], 0).astype(float)

    def rank(tensor: np.ndarray) -> np.ndarray:
        return np.where(tensor >= 0, t.rank[np.maximum(tensor, 0)], -1)

    def count(tensor: np.ndarray) -> np.ndarray:
        return np.where(tensor >= 0, numel[np.maximum(tensor, 0)], 0.0)

    w4 = rank(second) == 4
    kernel = np.where(opts["filter_h"] >= 0, opts["filter_h"], 1).astype(float)
    convlike = ops.isin(["CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV",
                            TRANSPOSE_CONV_CUSTOM])  # fmt: skip
    kernel = np.where(convlike & w4, dim(second, 1), kernel)
    stride = np.where(opts["stride_h"] >= 0, opts["stride_h"], 1).astype(float)
    tconv_c = ops.eq(TRANSPOSE_CONV_CUSTOM) & (rank(first) == 4) & (out0 >= 0)
    stride = np.where(tconv_c, dim(out0, 1) // np.maximum(dim(first, 1), 1), stride)
    o0 = count(out0)
    macs = np.zeros(n)
    kk = dim(second, 1) * dim(second, 2)
    macs = np.where(ops.eq("CONV_2D") & w4, o0 * kk * dim(second, 3), macs)
    macs = np.where(ops.eq("DEPTHWISE_CONV_2D") & w4, o0 * kk, macs)
    fc = ops.eq("FULLY_CONNECTED") & (rank(second) == 2)
    macs = np.where(fc, np.floor(count(first) / np.maximum(dim(second, 1), 1)) * dim(second, 0)
                    * dim(second, 1), macs)  # fmt: skip
    macs = np.where(ops.eq("TRANSPOSE_CONV") & (in_len > 2) & w4,
                    count(third) * kk * dim(second, 0), macs)  # fmt: skip
    macs = np.where(ops.eq(TRANSPOSE_CONV_CUSTOM) & w4, count(first) * kk * dim(second, 0), macs)
    last_in = np.where(first >= 0, t.last[np.maximum(first, 0)], 0)
    macs = np.where(ops.eq("BATCH_MATMUL") & (in_len > 1) & (rank(first) > 0), o0 * last_in, macs)
    macs = np.where((first >= 0) & (out0 >= 0), macs, 0.0)
    act_on = opts["act"] > 0
    extra = np.where(act_on, out_numel, 0.0)
    bias = ops.isin(["CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"]) & (in_len > 2)
    bias |= ops.eq("TRANSPOSE_CONV") & (in_len > 3)
    flops = np.zeros(n)
    unary = ops.map(lambda o: ELEMENTWISE_UNARY_COST.get(o, 0), float)
    filt = np.where(opts["filter_h"] >= 0, opts["filter_h"], 1) * np.where(
        opts["filter_w"] >= 0, opts["filter_w"], 1)  # fmt: skip
    flops = np.select(
        [macs > 0, ops.isin(list(ELEMENTWISE_BINARY)), unary > 0, ops.isin(list(POOLS)),
         ops.isin(list(REDUCTIONS)) & (first >= 0), ops.isin(list(NORMALIZATIONS)),
         ops.eq("RESIZE_BILINEAR")],
        [2 * macs + np.where(bias, out_numel, 0.0) + extra, out_numel + extra,
         out_numel * unary, out_numel * filt + extra, count(first), 5 * out_numel,
         8 * out_numel],
        0.0,
    )  # fmt: skip
    h, w, c = _hwc(t, a0)
    ho, wo, co = _hwc(t, out0)
    in2 = np.where(a1 >= 0, np.log1p(np.prod(np.where(
        np.arange(MAX_RANK)[None, :] < rank(a1)[:, None], t.dims[np.maximum(a1, 0)], 1),
        axis=1).astype(float)), 0.0)  # fmt: skip
    in2 = np.where((a1 >= 0) & (rank(a1) == 0), 0.0, in2)  # a scalar's shape is [], as empty
    return {
        "h": h, "w": w, "cin": c, "ho": ho, "wo": wo, "cout": co, "kernel": kernel,
        "stride": stride, "dilation": np.where(opts["dilation_h"] >= 0, opts["dilation_h"],
                                               1).astype(float),
        "same": (opts["padding"] <= 0).astype(float), "act": _ACT_CODE[opts["act"]],
        "flops": flops, "macs": macs, "params": params, "b_in": b_in, "b_w": b_w,
        "b_out": b_out, "n_inputs": np.bincount(in_node, ~const[ins], minlength=n).astype(float),
        "in2": in2, "scalar": ((params == 1) & (b_w <= 8)).astype(float),
    }  # fmt: skip


def _hwc(t: Tensors, tensor: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Height, width, channels with a batch folded into the height (features._hwc)."""
    safe = np.maximum(tensor, 0)
    d = np.maximum(t.dims[safe], 1).astype(float)
    r = np.where(tensor >= 0, t.rank[safe], 0)
    h = np.select([r == 4, r == 3, r == 2], [d[:, 0] * d[:, 1], d[:, 0], d[:, 0]], 1.0)
    w = np.select([r == 4, r == 3], [d[:, 2], d[:, 1]], 1.0)
    c = np.select([r == 4, r == 3, r == 2, r == 1], [d[:, 3], d[:, 2], d[:, 1], d[:, 0]], 1.0)
    return h, w, c
