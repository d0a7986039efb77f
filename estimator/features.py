"""Per-node records and numeric feature vectors for the latency regressors.

``op_record`` is the compact, JSON-able description of one node that the database stores with
each measurement and that prediction computes from a live graph: the same function on both
sides keeps training and inference features identical.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .graph.columns import ModelColumns
from .graph.nodes import ModelGraph, Node

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
    integer kernel (an int8 convolution costs something else than a float one)."""
    acts = [t for t in node.inputs if not t.is_constant]
    if (acts and acts[0].dtype in QUANTIZED_DTYPES and node.op not in ("QUANTIZE", "DEQUANTIZE")
            and not node.is_custom):  # fmt: skip
        return f"{node.op}:INT8"
    return node.op


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


def _hwc(shape: list[int]) -> tuple[int, int, int]:
    """Height, width, channels, with a batch folded into the height: the kernels walk N*H rows
    of pixels the same way, and training data is batch 1 (KNIFT runs 200 patches at once)."""
    s = [max(int(d), 1) for d in shape]
    if len(s) == 4:
        return s[0] * s[1], s[2], s[3]
    if len(s) == 3:
        return s[0], s[1], s[2]
    if len(s) == 2:
        return s[0], 1, s[1]
    if len(s) == 1:
        return 1, 1, s[0]
    return 1, 1, 1


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
)

# SIMD kernels compute output channels in tiles (8 or 16 floats on AVX2, slices of 4 on a
# GPU): a transposed convolution to 1 channel does the work of 16. Measured on the host:
# 128x128x16 -> 256x256x1 takes 0.79 ms, 15x what its FLOPs at the op's usual rate predict.
TILES = (8, 16)


# The per-node quantities the feature matrix is computed from, one array each; made from
# stored records (training), from graph nodes or from the column reader (prediction).
TABLE_KEYS = ("h", "w", "cin", "ho", "wo", "cout", "kernel", "stride", "dilation", "same",
              "act", "flops", "macs", "params", "b_in", "b_w", "b_out", "n_inputs", "in2",
              "scalar")  # fmt: skip


def table(recs: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """The feature table of node records (:func:`op_record`'s dicts)."""
    raw = np.empty((len(recs), len(TABLE_KEYS)))
    for i, rec in enumerate(recs):
        h, w, cin = _hwc(rec["in_shape"])
        ho, wo, cout = _hwc(rec["out_shape"])
        o = rec.get("options", {})
        in2 = rec["in2_shape"]
        raw[i] = (
            h, w, cin, ho, wo, cout,
            o.get("kernel_h", 1), o.get("stride_h", 1), o.get("dilation_h_factor", 1),
            1.0 if o.get("padding", "SAME") == "SAME" else 0.0,
            _ACT.get(o.get("fused_activation_function", "NONE"), 0),
            rec["flops"], rec["macs"], rec["params"],
            rec["bytes_in"], rec["bytes_w"], rec["bytes_out"], rec.get("n_inputs", 1),
            np.log1p(np.prod(in2)) if in2 else 0.0,
            1.0 if rec["params"] == 1 and rec["bytes_w"] <= 8 else 0.0,
        )  # fmt: skip
    return dict(zip(TABLE_KEYS, raw.T, strict=True))


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
    ]  # fmt: skip
    return np.stack(cols, axis=1)


def graph_columns(graph: ModelGraph) -> ModelColumns:
    """A parsed graph's nodes as the columns prediction reads: those the column reader read
    from the file as it was parsed, or (a graph whose shapes needed propagation) computed from
    the nodes once and kept on the graph."""
    if graph.columns is not None:
        return graph.columns
    nodes = graph.nodes
    producer_of: dict[tuple[int, int], int] = {}
    readers: dict[tuple[int, int], int] = {}
    for i, n in enumerate(nodes):
        for t in n.outputs:
            producer_of[(n.subgraph, t.index)] = i
        for t in n.inputs:
            readers[(n.subgraph, t.index)] = readers.get((n.subgraph, t.index), 0) + 1
    producer, single = np.full(len(nodes), -1), np.zeros(len(nodes), bool)
    for i, n in enumerate(nodes):
        acts = [t for t in n.inputs if not t.is_constant]
        if acts:
            key = (n.subgraph, acts[0].index)
            producer[i] = producer_of.get(key, -1)
            single[i] = readers.get(key, 0) == 1
    out = ModelColumns(
        kind=np.array([op_kind(n) for n in nodes], dtype=object),
        op=np.array([n.op for n in nodes], dtype=object),
        role=np.array([n.role for n in nodes], dtype=object),
        subgraph=np.array([n.subgraph for n in nodes], int),
        table=table([op_record(n) for n in nodes]),
        cout=np.array(
            [n.outputs[0].shape[-1] if n.outputs and n.outputs[0].shape else 0 for n in nodes],
            float,
        ),  # fmt: skip
        producer=producer,
        single_reader=single,
    )
    graph.columns = out
    return out
