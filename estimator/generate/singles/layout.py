"""Ops that pool, reduce, resize or move data: CONCATENATION, the 2-D pools, MEAN, PAD,
RESIZE_*, RESHAPE, TRANSPOSE, GATHER, SLICE, STRIDED_SLICE, SPLIT, DEPTH_TO_SPACE and
SPACE_TO_DEPTH."""

from __future__ import annotations

import math
import random
from typing import Any

from ...graph import Node
from ..config import channels, image, in_shape, tokens
from ..layers import Net
from . import single

Params = dict[str, Any]


def _elements(p: Params) -> tuple[float, float]:
    return 0.0, float(math.prod(in_shape(p)))


def _float(node: Node) -> bool:
    return all(t.dtype in ("FLOAT32", "INT32") for t in node.inputs + node.outputs)


def _image(node: Node, batched: bool = True) -> Params | None:
    x = node.inputs[0].shape
    if len(x) != 4 or not _float(node) or (x[0] != 1 and not batched):
        return None
    p: Params = dict(h=x[1], w=x[2], cin=x[3])
    if x[0] != 1:
        p["n"] = x[0]
    return p


# --- CONCATENATION ------------------------------------------------------------------------------


def _concat_sample(rng: random.Random) -> Params:
    p = image(rng, batched=True)
    p["cin2"] = channels(rng)
    if rng.random() < 0.25:  # DenseNet and Inception blocks join several branches
        p["cin3"] = channels(rng)
    return p


def _concat_size(p: Params) -> tuple[float, float]:
    c = p["cin"] + p.get("cin2", 0) + p.get("cin3", 0)
    return 0.0, float(p.get("n", 1) * p["h"] * p["w"] * c)


def _concat_from_node(node: Node) -> Params | None:
    p = _image(node)
    if p is None or len(node.inputs) not in (2, 3) or node.options.get("axis") not in (3, -1):
        return None
    if any(t.is_constant or t.shape[:3] != node.inputs[0].shape[:3] for t in node.inputs):
        return None
    p["cin2"] = node.inputs[1].shape[-1]
    if len(node.inputs) == 3:
        p["cin3"] = node.inputs[2].shape[-1]
    return p


@single("CONCATENATION", _concat_sample, _concat_size, _concat_from_node)
def _concat(net: Net, p: Params) -> None:
    base = in_shape(p)
    xs = [net.input(base)]
    for key in ("cin2", "cin3"):
        if key in p:
            xs.append(net.input(base[:-1] + [p[key]]))
    net.output(net.concat(xs, axis=-1))


# --- pools --------------------------------------------------------------------------------------


def _pool_sample(rng: random.Random) -> Params:
    p = image(rng, batched=True)
    hw = p["h"]
    if rng.random() < 0.2:  # global pooling written as a pool over the whole map
        side = min(hw, 128)
        p.update(h=side, w=side, k=side, s=side, padding="valid")
    else:
        k = rng.choice([1, 1, 2, 2, 3, 3, 5, 7])  # 1x1 stride 2: subsampling (NASNet)
        s = 2 if k == 1 else rng.choice([1, 2, k])
        p.update(k=k, s=s, padding=rng.choice(["same", "same", "valid"]))
    return p


def _pool_size(p: Params) -> tuple[float, float]:
    if p.get("padding") == "valid" and p["k"] > min(p["h"], p["w"]):
        return 0.0, 0.0
    return _elements(p)


def _pool_from_node(node: Node) -> Params | None:
    p = _image(node)
    o = node.options
    if p is None or o.get("filter_height") != o.get("filter_width"):
        return None
    if o.get("fused_activation_function", "NONE") != "NONE":
        return None
    p.update(k=o["filter_height"], s=o["stride_h"], padding=o.get("padding", "SAME").lower())
    return p


def _pool_build(op: str):
    def build(net: Net, p: Params) -> None:
        x = net.input(in_shape(p))
        net.output(net.pool(op, x, p["k"], p.get("s", p["k"]), p.get("padding", "same")))

    return build


for _op in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
    single(_op, _pool_sample, _pool_size, _pool_from_node)(_pool_build(_op))


# --- MEAN ---------------------------------------------------------------------------------------


def _mean_sample(rng: random.Random) -> Params:
    if rng.random() < 0.35:  # layer norm: the mean over each token's channels
        p = tokens(rng)
        p["last"] = 1
        return p
    p = image(rng)
    p["keepdims"] = rng.choice([None, 1])
    return p


def _mean_from_node(node: Node) -> Params | None:
    x = node.inputs[0].shape
    axes = [a % len(x) for a in _axes(node)] if x else []
    keep = bool(node.options.get("keep_dims"))
    if not _float(node):
        return None
    if len(x) == 4 and sorted(axes) == [1, 2]:
        p = _image(node)
        if p is not None and keep:
            p["keepdims"] = 1
        return p
    if len(x) == 3 and x[0] == 1 and axes == [2] and keep:
        return dict(t=x[1], cin=x[2], last=1)
    return None


def _axes(node: Node) -> list[int]:
    value = node.inputs[1].value if len(node.inputs) > 1 else None
    return [int(a) for a in value] if value is not None else []


@single("MEAN", _mean_sample, _elements, _mean_from_node)
def _mean(net: Net, p: Params) -> None:
    x = net.input(in_shape(p))
    if p.get("last"):
        net.output(net.mean(x, [len(in_shape(p)) - 1], keep_dims=True))
    else:
        net.output(net.mean(x, [1, 2], keep_dims=bool(p.get("keepdims"))))


# --- PAD, RESIZE --------------------------------------------------------------------------------


def _pad_sample(rng: random.Random) -> Params:
    p = image(rng)
    p["pad"] = rng.choice([1, 1, 2, 3])
    return p


def _pad_from_node(node: Node) -> Params | None:
    p = _image(node, batched=False)
    if p is None:
        return None
    x, out = node.inputs[0].shape, node.outputs[0].shape
    pad = (out[1] - x[1]) // 2
    if out[1] - x[1] != 2 * pad or out[2] - x[2] != 2 * pad or out[3] != x[3] or pad < 1:
        return None
    p["pad"] = pad
    return p


@single("PAD", _pad_sample, _elements, _pad_from_node)
def _pad(net: Net, p: Params) -> None:
    x = net.input(in_shape(p))
    k = p["pad"]
    net.output(net.pad(x, [[0, 0], [k, k], [k, k], [0, 0]]))


def _resize_sample(rng: random.Random) -> Params:
    p = image(rng)
    p.update(h=min(p["h"], 112), w=min(p["w"], 112), scale=rng.choice([2, 2, 4]))
    return p


def _resize_size(p: Params) -> tuple[float, float]:
    s = p.get("scale", 2)
    return 0.0, float(p["h"] * p["w"] * p["cin"] * s * s)


def _resize_from_node(node: Node) -> Params | None:
    p = _image(node, batched=False)
    if p is None:
        return None
    x, out = node.inputs[0].shape, node.outputs[0].shape
    scale = out[1] // max(x[1], 1)
    if out[1] != x[1] * scale or out[2] != x[2] * scale or scale < 1:
        return None
    p["scale"] = scale
    return p


def _resize_build(op: str):
    def build(net: Net, p: Params) -> None:
        x = net.input(in_shape(p))
        s = p.get("scale", 2)
        net.output(net.resize(op, x, p["h"] * s, p["w"] * s))

    return build


for _op in ("RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR"):
    single(_op, _resize_sample, _resize_size, _resize_from_node)(_resize_build(_op))


# --- reshape-like: RESHAPE, TRANSPOSE, GATHER, SLICE, STRIDED_SLICE, SPLIT, D2S, S2D -------------


def _any_map(rng: random.Random) -> Params:
    return tokens(rng) if rng.random() < 0.3 else image(rng)


@single("RESHAPE", _any_map, _elements)
def _reshape(net: Net, p: Params) -> None:
    shape = in_shape(p)
    x = net.input(shape)
    net.output(net.reshape(x, [1, math.prod(shape[1:-1]), shape[-1]]))


def _transpose_sample(rng: random.Random) -> Params:
    if rng.random() < 0.5:  # attention heads to the front: [1, t, h, d] -> [1, h, t, d]
        return dict(t=rng.choice([16, 49, 64, 144, 196, 256, 576]), heads=rng.choice([2, 4, 8]),
                    cin=rng.choice([16, 32, 64]))  # fmt: skip
    p = image(rng)
    p["perm"] = "nchw"
    return p


def _transpose_size(p: Params) -> tuple[float, float]:
    if "heads" in p:
        return 0.0, float(p["t"] * p["heads"] * p["cin"])
    return _elements(p)


@single("TRANSPOSE", _transpose_sample, _transpose_size)
def _transpose(net: Net, p: Params) -> None:
    if "heads" in p:
        x = net.input([1, p["t"], p["heads"], p["cin"]])
        net.output(net.transpose(x, [0, 2, 1, 3]))
    else:
        net.output(net.transpose(net.input(in_shape(p)), [0, 3, 1, 2]))


def _gather_sample(rng: random.Random) -> Params:
    p = image(rng)
    p["take"] = max(1, p["cin"] // rng.choice([1, 2, 4]))  # channel shuffles and selections
    return p


@single("GATHER", _gather_sample, _elements)
def _gather(net: Net, p: Params) -> None:
    x = net.input(in_shape(p))
    idx = net.rng.permutation(p["cin"])[: p["take"]].tolist()
    net.output(net.gather(x, idx, axis=3))


def _crop_sample(rng: random.Random) -> Params:
    p = image(rng)
    p["crop"] = rng.choice([1, 2])  # a border of 1-2 pixels, or half the channels
    return p


def _crop_size(p: Params) -> tuple[float, float]:
    if min(p["h"], p["w"]) <= 2 * p["crop"]:
        return 0.0, 0.0
    return _elements(p)


@single("SLICE", _crop_sample, _crop_size)
def _slice(net: Net, p: Params) -> None:
    n, h, w, c = in_shape(p)
    k = p["crop"]
    x = net.input([n, h, w, c])
    net.output(net.slice(x, [0, k, k, 0], [n, h - 2 * k, w - 2 * k, c]))


@single("STRIDED_SLICE", _crop_sample, _crop_size)
def _strided_slice(net: Net, p: Params) -> None:
    n, h, w, c = in_shape(p)
    k = p["crop"]
    x = net.input([n, h, w, c])
    net.output(net.strided_slice(x, [0, k, k, 0], [n, h - k, w - k, c], [1, 1, 1, 1]))


def _split_sample(rng: random.Random) -> Params:
    p = image(rng)
    p["parts"] = rng.choice([2, 2, 3, 4])
    p["cin"] = max(p["parts"], p["cin"] // p["parts"] * p["parts"])
    return p


@single("SPLIT", _split_sample, _elements)
def _split(net: Net, p: Params) -> None:
    x = net.input(in_shape(p))
    net.output(*net.split(x, p["parts"], axis=-1))


def _blocks_sample(rng: random.Random) -> Params:
    p = image(rng)
    p.update(h=max(2, p["h"] // 2 * 2), w=max(2, p["w"] // 2 * 2), block=2)
    p["cin"] = max(4, p["cin"] // 4 * 4)
    return p


@single("DEPTH_TO_SPACE", _blocks_sample, _elements)
def _depth_to_space(net: Net, p: Params) -> None:
    net.output(net.depth_to_space(net.input(in_shape(p)), p["block"]))


@single("SPACE_TO_DEPTH", _blocks_sample, _elements)
def _space_to_depth(net: Net, p: Params) -> None:
    net.output(net.space_to_depth(net.input(in_shape(p)), p["block"]))
