"""Int8-quantized kernels (``<OP>:INT8``: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD)
and the QUANTIZE / DEQUANTIZE ops at a quantized model's edges. They run other kernels than
their float twins, so they are measured and learned as op kinds of their own."""

from __future__ import annotations

import math
import random
from typing import Any

from ..config import activation, channels, image, in_shape
from ..flatbuild import Quant
from ..layers import Net
from . import single
from .conv import _conv_sample, _conv_size, _dw_sample, _dw_size

Params = dict[str, Any]
IN_QUANT = Quant(0.05, -3)


def _qinput(net: Net, p: Params) -> int:
    return net.input(in_shape(p), "INT8", IN_QUANT)


def _plain(sample):
    def strip(rng: random.Random) -> Params:
        p = sample(rng)
        p.pop("d", None)
        p.pop("m", None)
        return p

    return strip


@single("CONV_2D:INT8", _plain(_conv_sample), _conv_size)
def _qconv(net: Net, p: Params) -> None:
    x = _qinput(net, p)
    net.output(net.qconv(x, p["cout"], p["k"], p.get("s", 1), p.get("padding", "same"),
                         p.get("act")))  # fmt: skip


@single("DEPTHWISE_CONV_2D:INT8", _plain(_dw_sample), _dw_size)
def _qdepthwise(net: Net, p: Params) -> None:
    x = _qinput(net, p)
    net.output(net.qdepthwise(x, p["k"], p.get("s", 1), p.get("padding", "same"), p.get("act")))


def _qfc_sample(rng: random.Random) -> Params:
    p = dict(cin=channels(rng, 16, 4096), cout=channels(rng, 2, 2048), act=activation(rng))
    if rng.random() < 0.4:
        p.update(cin=rng.choice([256, 512, 1024, 1280]), cout=rng.choice([10, 1000, 1001]))
    return p


def _qfc_size(p: Params) -> tuple[float, float]:
    return float(p["cin"] * p["cout"]), float(max(p["cin"], p["cout"]))


@single("FULLY_CONNECTED:INT8", _qfc_sample, _qfc_size)
def _qdense(net: Net, p: Params) -> None:
    x = net.input([1, p["cin"]], "INT8", IN_QUANT)
    net.output(net.qdense(x, p["cout"], p.get("act")))


def _elements(p: Params) -> tuple[float, float]:
    return 0.0, float(math.prod(in_shape(p)))


def _qadd_sample(rng: random.Random) -> Params:
    p = image(rng)
    p["act"] = rng.choice([None, None, "relu"])
    return p


@single("ADD:INT8", _qadd_sample, _elements)
def _qadd(net: Net, p: Params) -> None:
    x = _qinput(net, p)
    y = net.input(in_shape(p), "INT8", Quant(0.04, 2))
    net.output(net.qadd(x, y, p.get("act")))


def _edge_sample(rng: random.Random) -> Params:
    return image(rng)


@single("QUANTIZE", _edge_sample, _elements)
def _quantize(net: Net, p: Params) -> None:
    net.output(net.quantize(net.input(in_shape(p))))


@single("DEQUANTIZE", _edge_sample, _elements)
def _dequantize(net: Net, p: Params) -> None:
    net.output(net.dequantize(_qinput(net, p)))
