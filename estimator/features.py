"""Per-node records and numeric feature vectors for the latency regressors.

``op_record`` is the compact, JSON-able description of one node that the database stores with
each measurement and that prediction computes from a live graph: the same function on both
sides keeps training and inference features identical.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .graph.columns import ModelColumns, Shapes
from .graph.nodes import ModelGraph, Node
from .graph.schema_tables import ACTIVATIONS
from .ops import GROUPED_CONV

_OPTION_KEYS = (
    "kernel_h",
    "kernel_w",
    "stride_h",
    "stride_w",
    "padding",
    "dilation_h_factor",
    "depth_multiplier",
    "fused_activation_function",
    "axis",
)


QUANTIZED_DTYPES = ("INT8", "UINT8", "INT16")


def op_kind(node: Node) -> str:
    """What a node is measured and learned as: its op type, with ``:INT8`` when it runs an
    integer kernel (an int8 convolution costs something else than a float one), and
    ``CONV_2D:GROUPED`` for a float convolution with groups > 1 (another kernel again).
    ``graph.columns`` computes the same kinds for whole batches of models."""
    acts = [t for t in node.inputs if not t.is_constant]
    if (acts and acts[0].dtype in QUANTIZED_DTYPES and node.op not in ("QUANTIZE", "DEQUANTIZE")
            and not node.is_custom):  # fmt: skip
        return f"{node.op}:INT8"
    if node.op == "CONV_2D" and len(node.inputs) > 1:
        x, w = node.inputs[0].shape, node.inputs[1].shape
        if len(x) == 4 and len(w) == 4 and 0 < w[3] < x[3]:
            return GROUPED_CONV
    return node.op


def patch_bytes(node: Node) -> int:
    """Bytes of the input windows a convolution with a kernel larger than 1x1 reads, one per
    output pixel: batch x out_h x out_w x kh x kw x in-channels elements. For an ungrouped
    convolution that is the patch matrix (im2col) TensorFlow Lite's optimized kernel copies
    before its matrix product, traffic a phone pays on top of the FLOPs and that narrow
    networks (few output channels to share each window) pay most. Grouped convolutions count
    every input channel too; TensorFlow Lite 2.10 runs them on its reference kernel, which
    builds no such matrix, so for them the figure is an empirical proxy of their reads, kept
    because it lowered the out-of-family error (learn.transfer). 1x1 convolutions count
    nothing, strided ones included (TFLite copies those: counting them changed nothing
    measurable). 0 for every other node, and unknown dimensions count as 1."""
    if node.op != "CONV_2D" or len(node.inputs) < 2 or not node.outputs:
        return 0
    x, w, y = node.inputs[0], node.inputs[1].shape, node.outputs[0].shape
    if len(x.shape) != 4 or len(w) != 4 or len(y) != 4:
        return 0
    kh, kw = max(w[1], 1), max(w[2], 1)
    if kh * kw <= 1:
        return 0
    item = x.nbytes // x.numel if x.numel > 0 and x.nbytes > 0 else 4
    pixels = max(y[0], 1) * max(y[1], 1) * max(y[2], 1)
    return pixels * kh * kw * max(x.shape[3], 1) * item


def op_record(node: Node) -> dict[str, Any]:
    acts = [t for t in node.inputs if not t.is_constant]
    weights = [t for t in node.inputs if t.is_constant]
    opts = node.options
    return {
        "op": op_kind(node),
        "in_shape": acts[0].shape if acts else [],
        "in2_shape": acts[1].shape if len(acts) > 1 else [],
        "n_inputs": len(acts),
        "out_shape": node.outputs[0].shape if node.outputs else [],
        "w_shape": weights[0].shape if weights else [],
        "dtype": acts[0].dtype if acts else (node.outputs[0].dtype if node.outputs else ""),
        "options": {k: opts[k] for k in _OPTION_KEYS if k in opts},
        "macs": node.macs,
        "flops": node.flops,
        "bytes_in": node.bytes_activations_read,
        "bytes_w": node.bytes_weights_read,
        "bytes_out": node.bytes_written,
        "params": node.params,
    }


def _hwc(s: Shapes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Height, width, channels, with a batch folded into the height: the kernels walk N*H rows
    of pixels the same way, and training data is batch 1 (KNIFT runs 200 patches at once).
    Shapes of another rank than 1 to 4 count as 1 x 1 x 1."""
    d, r = np.maximum(s.dims, 1).astype(float), s.rank
    h = np.select([r == 4, r == 3, r == 2], [d[:, 0] * d[:, 1], d[:, 0], d[:, 0]], 1.0)
    w = np.select([r == 4, r == 3], [d[:, 2], d[:, 1]], 1.0)
    c = np.select([r == 4, r == 3, r == 2, r == 1], [d[:, 3], d[:, 2], d[:, 1], d[:, 0]], 1.0)
    return h, w, c


_ACT = {"NONE": 0, "RELU": 1, "RELU6": 2, "RELU_N1_TO_1": 3, "TANH": 4, "SIGN_BIT": 5}

FEATURE_NAMES = (
    "log_h",
    "log_w",
    "log_cin",
    "log_cout",
    "log_hout",
    "kernel",
    "stride",
    "dilation",
    "same_padding",
    "activation",
    "log_flops",
    "log_macs",
    "log_params",
    "log_bytes_in",
    "log_bytes_w",
    "log_bytes_out",
    "log_bytes_total",
    "intensity",
    "cin_slices",
    "cout_slices",
    "log_out_slices",
    "cin_slice_waste",
    "cout_slice_waste",
    "log_in_elems",
    "log_out_elems",
    "n_inputs",
    "log_flops_pad8",
    "log_flops_pad16",
    "log_channel_ratio",
    "log_in2_elems",
    "scalar_operand",
    "log_group_width",
    "log_out_pixels",
)

# SIMD kernels compute output channels in tiles (8 or 16 floats on AVX2, slices of 4 on a
# GPU): a transposed convolution to 1 channel does the work of 16. Measured on the host:
# 128x128x16 -> 256x256x1 takes 0.79 ms, 15x what its FLOPs at the op's usual rate predict.
TILES = (8, 16)


# Which SIMD tiles (:data:`TILES`) a channel count fills exactly: of 16, of 8 only, neither.
# XNNPACK runs some element-wise ops differently by it (``Runtime.middle``).
TILE_CLASSES = ("16", "8", "1")


def tile_index(channels: np.ndarray) -> np.ndarray:
    """Each channel count's index in :data:`TILE_CLASSES`."""
    c = np.asarray(channels).astype(np.int64)
    return np.select([c % 16 == 0, c % 8 == 0], [0, 1], 2)


def tile_class(channels: int) -> str:
    """A channel count's tile class (:data:`TILE_CLASSES`)."""
    return TILE_CLASSES[int(tile_index(np.array([channels]))[0])]


# The per-node quantities the feature matrix is computed from, one array each; made from
# stored records (training) or from a model's columns (prediction), by the same rules.
TABLE_KEYS = (
    "h", "w", "cin", "ho", "wo", "cout", "kernel", "kernel_w", "stride", "dilation", "same",
    "act", "flops", "macs", "params", "b_in", "b_w", "b_out", "n_inputs", "in2", "scalar",
)  # fmt: skip


def table(recs: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """The feature table of node records (:func:`op_record`'s dicts)."""
    opts = [r.get("options", {}) for r in recs]

    def col(values: list[Any]) -> np.ndarray:
        return np.array(values, float).reshape(len(recs))

    return _table(
        Shapes.of_lists([r["in_shape"] for r in recs]),
        Shapes.of_lists([r["out_shape"] for r in recs]),
        Shapes.of_lists([r["in2_shape"] for r in recs]),
        kernel=col([o.get("kernel_h", 1) for o in opts]),
        kernel_w=col([o.get("kernel_w", o.get("kernel_h", 1)) for o in opts]),
        stride=col([o.get("stride_h", 1) for o in opts]),
        dilation=col([o.get("dilation_h_factor", 1) for o in opts]),
        same=col([o.get("padding", "SAME") == "SAME" for o in opts]),
        act=col([_ACT.get(o.get("fused_activation_function", "NONE"), 0) for o in opts]),
        **{k: col([r[key] for r in recs]) for k, key in _RECORD_COSTS.items()},
        n_inputs=col([r.get("n_inputs", 1) for r in recs]),
    )


_RECORD_COSTS = {
    "flops": "flops",
    "macs": "macs",
    "params": "params",
    "b_in": "bytes_in",
    "b_w": "bytes_w",
    "b_out": "bytes_out",
}
_ACT_CODE = np.array([_ACT.get(a, 0) for a in ACTIVATIONS], float)  # by the schema's code


def node_table(c: ModelColumns) -> dict[str, np.ndarray]:
    """The feature table of a model's (or a batch's) columns, every node at once."""
    a, k = c.attrs, c.costs

    def given(values: np.ndarray, default: int) -> np.ndarray:  # -1: the node has no such option
        return np.where(values >= 0, values, default).astype(float)

    return _table(
        c.inputs,
        c.outputs,
        c.second,
        kernel=given(a.kernel_h, 1),
        kernel_w=given(a.kernel_w, 1),
        stride=given(a.stride, 1),
        dilation=given(a.dilation, 1),
        same=(a.padding <= 0).astype(float),
        act=_ACT_CODE[a.act],
        flops=k.flops,
        macs=k.macs,
        params=k.params,
        b_in=k.b_in,
        b_w=k.b_w,
        b_out=k.b_out,
        n_inputs=c.n_inputs,
    )


def _table(
    first: Shapes, out: Shapes, second: Shapes, **per_node: np.ndarray
) -> dict[str, np.ndarray]:
    """The table from the first activation input's, the first output's and the second
    activation input's shapes, and the per-node quantities taken as they are."""
    h, w, cin = _hwc(first)
    ho, wo, cout = _hwc(out)
    params, b_w = per_node["params"], per_node["b_w"]
    got = dict(h=h, w=w, cin=cin, ho=ho, wo=wo, cout=cout, **per_node)
    # the second operand's elements (none, or a scalar, whose shape is []: 0)
    got["in2"] = np.where(second.rank > 0, np.log1p(second.elems.astype(float)), 0.0)
    # a single weight value (x * 0.5): the fast path of a scalar operand
    got["scalar"] = ((params == 1) & (b_w <= 8)).astype(float)
    return {key: got[key] for key in TABLE_KEYS}


def matrix(recs: list[dict[str, Any]]) -> np.ndarray:
    """Feature rows of node records (see :func:`from_table`)."""
    return from_table(table(recs))


def from_table(t: dict[str, np.ndarray]) -> np.ndarray:
    """Feature rows (nn-Meter's plus bytes, intensity and GPU slice facts), log-scaled, for
    every node of a feature table at once."""
    h, w, cin, ho, wo, cout = (t[k] for k in ("h", "w", "cin", "ho", "wo", "cout"))
    flops, macs, params = t["flops"], t["macs"], t["params"]
    b_in, b_w, b_out = t["b_in"], t["b_w"], t["b_out"]
    total = b_in + b_w + b_out
    cin_sl, cout_sl = np.ceil(cin / 4), np.ceil(cout / 4)
    lg = np.log1p
    cols = [
        lg(h), lg(w), lg(cin), lg(cout), lg(ho), t["kernel"], t["stride"], t["dilation"],
        t["same"], t["act"],
        lg(flops), lg(macs), lg(params), lg(b_in), lg(b_w), lg(b_out), lg(total),
        flops / np.maximum(total, 1), cin_sl, cout_sl, lg(ho * wo * cout_sl),
        cin_sl * 4 / cin - 1, cout_sl * 4 / cout - 1, lg(h * w * cin), lg(ho * wo * cout),
        t["n_inputs"],
        *(lg(flops * np.ceil(cout / k) * k / cout) for k in TILES),
        np.log(cout / cin),
        # the second operand: a full tensor, one value per channel, or none (a constant)
        t["in2"],
        # x * 0.5 runs on a fast path; x * per-channel constant on a thin map does not
        t["scalar"],
        # input channels each output sums over (a convolution's cin / groups: 1 for a
        # depthwise one written as a grouped CONV_2D, which takes another kernel path)
        lg(macs / np.maximum(ho * wo * cout * t["kernel"] * t["kernel_w"], 1)),
        # output pixels (a batch folded in): what a kernel pays per pixel it writes
        lg(ho * wo),
    ]  # fmt: skip
    return np.stack(cols, axis=1)


def graph_columns(graph: ModelGraph) -> ModelColumns:
    """A parsed graph's nodes as the columns prediction reads, with their feature table."""
    return with_table(graph.columns)


def with_table(c: ModelColumns) -> ModelColumns:
    """The columns, their feature table computed once (and kept) where it is not yet."""
    if c.table is None:
        c.table = node_table(c)
    return c
