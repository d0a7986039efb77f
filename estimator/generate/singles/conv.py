"""Convolutions and matrix products: CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV,
FULLY_CONNECTED (classifier heads and [1, N, C] token rows) and BATCH_MATMUL."""

from __future__ import annotations

import random
from typing import Any

from ...graph import Node
from ..config import activation, channels, image, in_shape, tokens
from ..layers import Net
from . import single

Params = dict[str, Any]


def _out(h: int, k: int, s: int, padding: str, d: int = 1) -> int:
    if padding == "valid":
        return (h - (k - 1) * d - 1) // s + 1
    return -(-h // s)


def _act(node: Node) -> str | None:
    act = node.options.get("fused_activation_function", "NONE").lower()
    return None if act == "none" else act


def _float(node: Node) -> bool:
    return all(t.dtype in ("FLOAT32", "INT32") for t in node.inputs + node.outputs)


def _image_params(node: Node, x_index: int = 0) -> Params | None:
    """h, w, cin (and a batch) of the node's image input, with kernel, stride and padding."""
    x = node.inputs[x_index].shape
    o = node.options
    if len(x) != 4 or not _float(node) or _act(node) not in (None, "relu", "relu6"):
        return None
    if o.get("kernel_h") != o.get("kernel_w") or o.get("stride_h") != o.get("stride_w"):
        return None
    p: Params = dict(h=x[1], w=x[2], cin=x[3], k=o.get("kernel_h"), s=o.get("stride_h"),
                     padding=o.get("padding", "SAME").lower())  # fmt: skip
    if x[0] != 1:
        p["n"] = x[0]
    if o.get("dilation_h_factor", 1) != 1:
        p["d"] = o["dilation_h_factor"]
    return p


# --- CONV_2D ------------------------------------------------------------------------------------


def _conv_sample(rng: random.Random) -> Params:
    p = image(rng, batched=True)
    p.update(cout=channels(rng), k=rng.choice([1, 1, 1, 3, 3, 3, 5, 7, 2]),
             s=rng.choice([1, 1, 1, 2]), act=activation(rng),
             padding=rng.choice(["same"] * 5 + ["valid"]))  # fmt: skip
    if rng.random() < 0.06:  # 1x1 maps: squeeze-excite gates and 1x1-conv classifier heads
        p.pop("n", None)
        p.update(h=1, w=1, k=1, s=1, cin=channels(rng, 8, 2048), padding="same")
        p["cout"] = rng.choice([1000, 1001]) if rng.random() < 0.3 else channels(rng, 8, 2048)
    elif rng.random() < 0.04:  # dilated (atrous) convolutions of segmentation heads
        p.update(k=3, s=1, d=rng.choice([2, 4]))
    return p


def _conv_size(p: Params) -> tuple[float, float]:
    n, k, s, d = p.get("n", 1), p["k"], p.get("s", 1), p.get("d", 1)
    pad = p.get("padding", "same")
    ho, wo = _out(p["h"], k, s, pad, d), _out(p["w"], k, s, pad, d)
    if ho < 1 or wo < 1:
        return 0.0, 0.0
    out = n * ho * wo * p["cout"]
    return float(out * k * k * p["cin"]), float(max(out, n * p["h"] * p["w"] * p["cin"]))


def _conv_from_node(node: Node) -> Params | None:
    p = _image_params(node)
    if p is not None:
        p.update(cout=node.outputs[0].shape[-1], act=_act(node))
    return p


@single("CONV_2D", _conv_sample, _conv_size, _conv_from_node)
def _conv(net: Net, p: Params) -> None:
    x = net.input(in_shape(p))
    net.output(net.conv(x, p["cout"], p["k"], p.get("s", 1), p.get("padding", "same"),
                        p.get("act"), p.get("d", 1), p.get("groups", 1)))  # fmt: skip


# --- CONV_2D:GROUPED (groups > 1) ---------------------------------------------------------------

# Budgets by kernel path: a convolution with one input channel per group runs depthwise-style
# (a 7x7 one ~2.5 GMAC/s on a 2-core host: 30 M MACs ~12 ms); wider groups run GEMM-style,
# as fast per MAC as a dense convolution, and reach ResNeSt's 38 M and ResNeXt's ~100 M MACs.
GROUPED_MACS = {"depthwise": 30e6, "wide": 200e6}


def _grouped_sample(rng: random.Random) -> Params:
    """Depthwise written as a grouped convolution (groups = channels, as Keras writes
    ConvNeXt's 7x7 layers) half the time, groups of 4 to 256 channels (ResNeXt, RegNet,
    ResNeSt's two-way splits) otherwise."""
    for _ in range(100):
        p = image(rng)
        c = max(8, p["cin"] // 8 * 8)
        if rng.random() < 0.5:
            path, g, cout = "depthwise", c, c * rng.choice([1, 1, 1, 2])
            k = rng.choice([3, 5, 7, 7])
        else:
            path = "wide"
            g = rng.choice([g for g in (2, 2, 4, 8, 16, 32, 64) if c % g == 0 and c // g >= 4]
                           or [2])  # fmt: skip
            cout, k = c * rng.choice([1, 1, 2]), rng.choice([1, 3, 3])
        p.update(cin=c, cout=cout, groups=g, k=k, s=rng.choice([1, 1, 1, 2]),
                 act=activation(rng), padding="same")  # fmt: skip
        if _grouped_size(p)[0] <= GROUPED_MACS[path]:
            return p
    return p


def _grouped_size(p: Params) -> tuple[float, float]:
    macs, elements = _conv_size(p)
    return macs / p["groups"], elements


def _grouped_from_node(node: Node) -> Params | None:
    p = _conv_from_node(node)
    w = node.inputs[1].shape
    if p is None or len(w) != 4 or not 0 < w[3] < p["cin"] or p["cin"] % w[3]:
        return None
    p["groups"] = p["cin"] // w[3]
    return p


# built as CONV_2D is (its parameters carry the groups)
single("CONV_2D:GROUPED", _grouped_sample, _grouped_size, _grouped_from_node)(_conv)


# --- DEPTHWISE_CONV_2D --------------------------------------------------------------------------


def _dw_sample(rng: random.Random) -> Params:
    p = image(rng, batched=True)
    p.update(k=rng.choice([1, 3, 3, 3, 5, 7]), s=rng.choice([1, 1, 2]), act=activation(rng),
             padding=rng.choice(["same"] * 4 + ["valid"]))  # fmt: skip
    if rng.random() < 0.1:  # a depth multiplier widens thin inputs (KNIFT: 1 -> 16)
        p.update(cin=rng.choice([1, 2, 3, 4, 8, 16, 32]), m=rng.choice([2, 4, 8, 16]))
    elif rng.random() < 0.04:
        p.update(s=1, d=rng.choice([2, 4]))
    return p


def _dw_size(p: Params) -> tuple[float, float]:
    n, k, s, d, m = p.get("n", 1), p["k"], p.get("s", 1), p.get("d", 1), p.get("m", 1)
    pad = p.get("padding", "same")
    ho, wo = _out(p["h"], k, s, pad, d), _out(p["w"], k, s, pad, d)
    if ho < 1 or wo < 1:
        return 0.0, 0.0
    out = n * ho * wo * p["cin"] * m
    return float(out * k * k), float(max(out, n * p["h"] * p["w"] * p["cin"]))


def _dw_from_node(node: Node) -> Params | None:
    p = _image_params(node)
    if p is not None:
        cout = node.outputs[0].shape[-1]
        if cout != p["cin"]:
            p["m"] = cout // max(p["cin"], 1)
        p["act"] = _act(node)
    return p


@single("DEPTHWISE_CONV_2D", _dw_sample, _dw_size, _dw_from_node)
def _depthwise(net: Net, p: Params) -> None:
    x = net.input(in_shape(p))
    net.output(net.depthwise(x, p["k"], p.get("s", 1), p.get("padding", "same"), p.get("act"),
                             p.get("m", 1), p.get("d", 1)))  # fmt: skip


# --- TRANSPOSE_CONV -----------------------------------------------------------------------------


def _tconv_sample(rng: random.Random) -> Params:
    # decoders upsample thin maps to full resolution: cover up to 256 -> 512, and the 1-8
    # channel outputs of segmentation heads, which run far below the usual rate
    p = image(rng)
    thin = rng.random() < 0.35
    cout = rng.choice([1, 1, 2, 3, 4, 8]) if thin else channels(rng, 1, 256)
    p.update(cout=cout, k=rng.choice([2, 2, 3, 4]), s=2)
    if thin and rng.random() < 0.5:  # a segmentation head: thin in, thin out, large map
        p.update(cin=rng.choice([2, 4, 8, 8, 16, 32]), h=max(p["h"], 64), w=max(p["w"], 64))
    return p


def _tconv_size(p: Params) -> tuple[float, float]:
    s, k = p.get("s", 2), p["k"]
    out = p["h"] * s * p["w"] * s * p["cout"]
    return float(p["h"] * p["w"] * p["cin"] * k * k * p["cout"]), float(
        max(out, p["h"] * p["w"] * p["cin"])
    )


def _tconv_from_node(node: Node) -> Params | None:
    if len(node.inputs) < 3 or node.options.get("padding", "SAME") != "SAME":
        return None
    p = _image_params(node, x_index=2)
    if p is None or "n" in p:
        return None
    p.pop("d", None)
    p.pop("padding")
    p["cout"] = node.outputs[0].shape[-1]
    return p


@single("TRANSPOSE_CONV", _tconv_sample, _tconv_size, _tconv_from_node)
def _transpose_conv(net: Net, p: Params) -> None:
    x = net.input(in_shape(p))
    net.output(net.transpose_conv(x, p["cout"], p["k"], p.get("s", 2)))


# --- FULLY_CONNECTED ----------------------------------------------------------------------------


def _fc_sample(rng: random.Random) -> Params:
    r = rng.random()
    if r < 0.25:  # token MLPs of transformers and ConvNeXt: [1, N, C] rows, keep_num_dims
        p = tokens(rng)
        p.update(cout=rng.choice([p["cin"] // 2, p["cin"], 2 * p["cin"], 4 * p["cin"]]))
        p["act"] = rng.choice([None, None, "relu"])
        return p
    p = dict(cin=channels(rng, 16, 4096), cout=channels(rng, 2, 2048), act=activation(rng))
    if r < 0.55:  # classifier heads: megabytes of weights read once per call
        p.update(cin=rng.choice([256, 512, 576, 768, 960, 1024, 1056, 1280, 1536, 2048]))
        p.update(cout=rng.choice([1000, 1000, 1001, 10, 100, 128, 512, 1024]), act=None)
    elif r < 0.62:  # a batch of rows (KNIFT: 200 patches)
        p["n"] = rng.choice([2, 8, 32, 200])
    return p


def _fc_size(p: Params) -> tuple[float, float]:
    rows = p.get("t", p.get("n", 1))
    return float(rows * p["cin"] * p["cout"]), float(rows * max(p["cin"], p["cout"]))


def _fc_from_node(node: Node) -> Params | None:
    w = node.inputs[1].shape if len(node.inputs) > 1 else []
    x = node.inputs[0].shape
    if len(w) != 2 or not _float(node) or _act(node) not in (None, "relu", "relu6"):
        return None
    p: Params = dict(cin=w[1], cout=w[0], act=_act(node))
    if node.options.get("keep_num_dims") and len(x) == 3 and x[0] == 1:
        p["t"] = x[1]
    elif len(x) == 2 and x[0] != 1:
        p["n"] = x[0]
    elif x[:-1] and any(d != 1 for d in x[:-1]):
        return None
    return p


@single("FULLY_CONNECTED", _fc_sample, _fc_size, _fc_from_node)
def _fully_connected(net: Net, p: Params) -> None:
    x = net.input(in_shape({k: v for k, v in p.items() if k not in ("h", "w")}))
    net.output(net.dense(x, p["cout"], p.get("act"), keep_dims="t" in p))


# --- BATCH_MATMUL -------------------------------------------------------------------------------


def _bmm_sample(rng: random.Random) -> Params:
    t = rng.choice([16, 49, 64, 144, 196, 256, 576])
    d = rng.choice([16, 32, 48, 64])
    heads = rng.choice([1, 2, 4, 8])
    if rng.random() < 0.5:  # scores: [h, t, d] x [h, t, d]^T
        return dict(b=heads, m=t, k=d, n=t, adj_y=1)
    return dict(b=heads, m=t, k=t, n=d)  # mix: [h, t, t] x [h, t, d]


def _bmm_size(p: Params) -> tuple[float, float]:
    return float(p["b"] * p["m"] * p["k"] * p["n"]), float(p["b"] * max(p["m"], p["k"]) * max(
        p["k"], p["n"]))  # fmt: skip


def _bmm_from_node(node: Node) -> Params | None:
    a, b = node.inputs[0].shape, node.inputs[1].shape
    if len(a) != 4 or len(b) != 4 or a[0] != 1 or node.inputs[1].is_constant:
        return None
    if node.options.get("adj_x"):
        return None
    adj = bool(node.options.get("adj_y"))
    n = b[2] if adj else b[3]
    return dict(b=a[1], m=a[2], k=a[3], n=n, adj_y=1 if adj else None)


@single("BATCH_MATMUL", _bmm_sample, _bmm_size, _bmm_from_node)
def _batch_matmul(net: Net, p: Params) -> None:
    a = net.input([1, p["b"], p["m"], p["k"]])
    adj = bool(p.get("adj_y"))
    b = net.input([1, p["b"], p["n"], p["k"]] if adj else [1, p["b"], p["k"], p["n"]])
    net.output(net.batch_matmul(a, b, adj_y=adj))
