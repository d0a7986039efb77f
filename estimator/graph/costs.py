"""Arithmetic cost of one TFLite operator, from its tensor shapes and options.

MACs count multiply-accumulates of the op's main product (convolutions, matrix products);
FLOPs are ``2 * MACs`` plus one per element for everything else the op does (bias, fused
activation, element-wise math), the convention of nn-Meter and most mobile papers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..ops import (
    ELEMENTWISE_BINARY,
    ELEMENTWISE_UNARY_COST,
    NORMALIZATIONS,
    POOLS,
    REDUCTIONS,
    TRANSPOSE_CONV_CUSTOM,
)

if TYPE_CHECKING:
    from .nodes import Node, Tensor


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
    if op in NORMALIZATIONS:
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
    if op == TRANSPOSE_CONV_CUSTOM and len(inputs) > 1 and len(inputs[1].shape) == 4:
        # MediaPipe's transposed convolution: input, weights [Cout, kh, kw, Cin], bias
        cout, kh, kw, _ = inputs[1].shape
        return inputs[0].numel * kh * kw * cout
    if op == "BATCH_MATMUL" and len(inputs) > 1 and inputs[0].shape:
        k = inputs[0].shape[-1]
        return out.numel * k
    return 0


def apply(node: Node) -> None:
    """Fill a node's cost facts (MACs, FLOPs, bytes moved, parameters) from its tensors."""
    costs = op_costs(node.op, node.inputs, node.outputs, node.options)
    node.macs, node.flops = costs.macs, costs.flops
    node.bytes_activations_read = sum(t.nbytes for t in node.inputs if not t.is_constant)
    node.bytes_weights_read = sum(t.nbytes for t in node.inputs if t.is_constant)
    node.bytes_written = sum(t.nbytes for t in node.outputs)
    node.params = sum(t.numel for t in node.inputs if t.is_constant)
