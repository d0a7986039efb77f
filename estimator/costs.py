"""Arithmetic cost of one TFLite operator, from its tensor shapes and options.

MACs count multiply-accumulates of the op's main product (convolutions, matrix products);
FLOPs are ``2 * MACs`` plus one per element for everything else the op does (bias, fused
activation, element-wise math), the convention of nn-Meter and most mobile papers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .graph import Tensor

ELEMENTWISE_BINARY = {
    "ADD",
    "SUB",
    "MUL",
    "DIV",
    "MAXIMUM",
    "MINIMUM",
    "SQUARED_DIFFERENCE",
    "POW",
    "FLOOR_DIV",
    "FLOOR_MOD",
}
ELEMENTWISE_UNARY_COST = {
    "RELU": 1,
    "RELU6": 1,
    "RELU_N1_TO_1": 1,
    "RELU_0_TO_1": 1,
    "LEAKY_RELU": 2,
    "PRELU": 2,
    "LOGISTIC": 4,
    "TANH": 4,
    "HARD_SWISH": 4,
    "GELU": 8,
    "EXP": 4,
    "LOG": 4,
    "SQRT": 2,
    "RSQRT": 2,
    "SQUARE": 1,
    "ABS": 1,
    "NEG": 1,
    "ELU": 4,
    "QUANTIZE": 2,
    "DEQUANTIZE": 2,
    "CAST": 1,
}
POOLS = {"AVERAGE_POOL_2D", "MAX_POOL_2D", "L2_POOL_2D"}
REDUCTIONS = {"MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD", "REDUCE_ANY"}


@dataclass
class Cost:
    macs: int = 0
    flops: int = 0


def op_costs(op: str, inputs: list[Tensor], outputs: list[Tensor], options: dict[str, Any]) -> Cost:
    out_numel = sum(t.numel for t in outputs)
    extra = out_numel if options.get("fused_activation_function", "NONE") != "NONE" else 0
    macs = _macs(op, inputs, outputs)
    if macs:
        has_bias = op in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED") and len(inputs) > 2
        if op == "TRANSPOSE_CONV":
            has_bias = len(inputs) > 3
        return Cost(macs, 2 * macs + (out_numel if has_bias else 0) + extra)
    if op in ELEMENTWISE_BINARY:
        return Cost(0, out_numel + extra)
    if op in ELEMENTWISE_UNARY_COST:
        return Cost(0, out_numel * ELEMENTWISE_UNARY_COST[op])
    if op in POOLS:
        kh = options.get("filter_height", 1)
        kw = options.get("filter_width", 1)
        return Cost(0, out_numel * kh * kw + extra)
    if op in REDUCTIONS and inputs:
        return Cost(0, inputs[0].numel)
    if op in ("SOFTMAX", "LOG_SOFTMAX", "L2_NORMALIZATION", "LOCAL_RESPONSE_NORMALIZATION"):
        return Cost(0, 5 * out_numel)
    if op in ("RESIZE_BILINEAR",):
        return Cost(0, 8 * out_numel)
    return Cost(0, 0)


def _macs(op: str, inputs: list[Tensor], outputs: list[Tensor]) -> int:
    if not inputs or not outputs:
        return 0
    out = outputs[0]
    if op == "CONV_2D" and len(inputs) > 1 and len(inputs[1].shape) == 4:
        # filter [Cout, kh, kw, Cin/groups]: each output element sums kh*kw*Cin/groups products
        _, kh, kw, cin = inputs[1].shape
        return out.numel * kh * kw * cin
    if op == "DEPTHWISE_CONV_2D" and len(inputs) > 1 and len(inputs[1].shape) == 4:
        _, kh, kw, _ = inputs[1].shape
        return out.numel * kh * kw
    if op == "CONV_3D" and len(inputs) > 1 and len(inputs[1].shape) == 5:
        kd, kh, kw, cin, _ = inputs[1].shape
        return out.numel * kd * kh * kw * cin
    if op == "FULLY_CONNECTED" and len(inputs) > 1 and len(inputs[1].shape) == 2:
        units, depth = inputs[1].shape
        rows = inputs[0].numel // max(depth, 1)
        return rows * units * depth
    if op == "TRANSPOSE_CONV" and len(inputs) > 2 and len(inputs[1].shape) == 4:
        # inputs: output_shape, weights [Cout, kh, kw, Cin], input; every input element is
        # scattered into kh*kw*Cout outputs
        cout, kh, kw, _ = inputs[1].shape
        return inputs[2].numel * kh * kw * cout
    if op == "CUSTOM:Convolution2DTransposeBias" and len(inputs) > 1 and len(inputs[1].shape) == 4:
        # MediaPipe's transposed convolution: input, weights [Cout, kh, kw, Cin], bias
        cout, kh, kw, _ = inputs[1].shape
        return inputs[0].numel * kh * kw * cout
    if op == "BATCH_MATMUL" and len(inputs) > 1 and inputs[0].shape:
        k = inputs[0].shape[-1]
        return out.numel * k
    return 0
