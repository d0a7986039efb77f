"""Element-wise ops and normalisations: ADD, SUB, MUL (with a constant, a per-channel gate or
a full second tensor), SQUARED_DIFFERENCE, the activations, GELU, RSQRT, SOFTMAX and
L2_NORMALIZATION, on feature maps and on transformer token rows."""

from __future__ import annotations

import math
import random
from typing import Any

from ...graph import Node
from ...ops import ACTIVATION_OPS
from ..config import channels, image, in_shape, tokens
from ..layers import Net
from . import single

Params = dict[str, Any]


def _elements(p: Params) -> tuple[float, float]:
    return 0.0, float(math.prod(in_shape(p)))


def _shape_params(shape: list[int]) -> Params | None:
    if len(shape) == 4:
        p: Params = dict(h=shape[1], w=shape[2], cin=shape[3])
        if shape[0] != 1:
            p["n"] = shape[0]
        return p
    if len(shape) == 3 and shape[0] == 1:
        return dict(t=shape[1], cin=shape[2])
    if len(shape) == 2:
        return dict(n=shape[0], cin=shape[1]) if shape[0] != 1 else dict(cin=shape[1])
    return None


def _float(node: Node) -> bool:
    return all(t.dtype in ("FLOAT32", "INT32") for t in node.inputs + node.outputs)


def _map_or_tokens(rng: random.Random, token_share: float = 0.15) -> Params:
    return tokens(rng) if rng.random() < token_share else image(rng)


# --- ADD / SUB / MUL ----------------------------------------------------------------------------


def _binary_sample(op: str):
    def sample(rng: random.Random) -> Params:
        p = _map_or_tokens(rng, 0.1)
        p["act"] = rng.choice([None, None, "relu"])
        r = rng.random()
        if r < 0.3 and "t" not in p:  # a constant (per channel or scalar), often on an image
            p.update(act=None, cin=rng.choice([1, 3, 3, 4, p["cin"], p["cin"]]))
            p["const"] = 2 if p["cin"] == 1 else rng.choice([1, 2])
        elif op == "MUL" and r < 0.6 and "t" not in p:
            p.update(bcast=1, act=None)  # x * gate, the gate one value per channel (SE blocks)
        return p

    return sample


def _binary_from_node(node: Node) -> Params | None:
    x = node.inputs[0]
    act = node.options.get("fused_activation_function", "NONE").lower()
    act = None if act == "none" else act
    p = _shape_params(x.shape)
    if p is None or not _float(node) or act not in (None, "relu", "relu6") or len(node.inputs) < 2:
        return None
    second = node.inputs[1]
    c = x.shape[-1]
    if second.is_constant and not act:
        if second.numel == 1:
            p["const"] = 2
        elif second.shape in ([c], [1, 1, 1, c]):
            p["const"] = 1
        else:
            return None
    elif second.shape == [1, 1, 1, c] and len(x.shape) == 4 and not act:
        p["bcast"] = 1
    elif second.shape != x.shape or x.is_constant:
        return None  # other broadcasting variants are not generated
    p["act"] = act
    return p


def _binary_build(op: str):
    def build(net: Net, p: Params) -> None:
        x = net.input(in_shape(p))
        if p.get("const"):
            net.output(net.binary_const(op, x, per_channel=p["const"] == 1))
            return
        if p.get("bcast"):
            y = net.input([p.get("n", 1), 1, 1, p["cin"]])
        else:
            y = net.input(in_shape(p))
        net.output(net.binary(op, x, y, p.get("act")))

    return build


for _op in ("ADD", "SUB", "MUL"):
    single(_op, _binary_sample(_op), _elements, _binary_from_node)(_binary_build(_op))


# --- SQUARED_DIFFERENCE (layer norm's variance) --------------------------------------------------


def _sqdiff_sample(rng: random.Random) -> Params:
    p = _map_or_tokens(rng, 0.7)
    p["mean"] = 1  # x - mean(x): the second operand one value per row, as in layer norm
    return p


@single("SQUARED_DIFFERENCE", _sqdiff_sample, _elements)
def _squared_difference(net: Net, p: Params) -> None:
    x = net.input(in_shape(p))
    y = net.input(in_shape(p)[:-1] + [1] if p.get("mean") else in_shape(p))
    net.output(net.binary("SQUARED_DIFFERENCE", x, y))


# --- activations --------------------------------------------------------------------------------


def _unary_sample(rng: random.Random) -> Params:
    return _map_or_tokens(rng, 0.15)


def _unary_from_node(node: Node) -> Params | None:
    return _shape_params(node.inputs[0].shape) if _float(node) else None


def _unary_build(op: str):
    def build(net: Net, p: Params) -> None:
        x = net.input(in_shape(p))
        if op == "PRELU":
            net.output(net.prelu(x))
        elif op == "GELU":
            net.output(net.gelu(x, bool(p.get("approx"))))
        elif op == "SOFTMAX":
            net.output(net.softmax(x))
        elif op == "L2_NORMALIZATION":
            net.output(net.l2_normalize(x))
        else:
            net.output(net.unary(op, x))

    return build


for _op in (*ACTIVATION_OPS, "RSQRT", "EXP", "NEG", "SQRT"):
    single(_op, _unary_sample, _elements, _unary_from_node)(_unary_build(_op))


def _gelu_sample(rng: random.Random) -> Params:
    p = _map_or_tokens(rng, 0.7)
    p["approx"] = 1 if rng.random() < 0.3 else None
    return p


single("GELU", _gelu_sample, _elements, _unary_from_node)(_unary_build("GELU"))


def _rows_sample(rng: random.Random) -> Params:
    r = rng.random()
    if r < 0.35:  # class scores
        return dict(cin=channels(rng, 2, 4096))
    if r < 0.7:  # attention weights: softmax over tokens, [1, heads * t, t]
        t = rng.choice([16, 49, 64, 144, 196, 256, 576])
        return dict(t=rng.choice([1, 2, 4, 8]) * t, cin=t)
    return image(rng)


single("SOFTMAX", _rows_sample, _elements, _unary_from_node)(_unary_build("SOFTMAX"))


def _l2_sample(rng: random.Random) -> Params:
    if rng.random() < 0.5:  # descriptors, one per row (KNIFT: 200 x 40)
        return dict(n=rng.choice([1, 8, 64, 200]), cin=rng.choice([16, 32, 40, 64, 128, 256]))
    return image(rng)


single("L2_NORMALIZATION", _l2_sample, _elements, _unary_from_node)(
    _unary_build("L2_NORMALIZATION")
)
