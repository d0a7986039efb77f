"""The generated network families, each a function that adds a whole network to a
:class:`~.layers.Net`: classic CNN shapes (plain, MobileNet, squeeze-excite, ResNet, ResNet50
bottlenecks, U-Net), MediaPipe-style segmentation (thin maps, PReLU, transposed convs),
multi-branch (Inception), cell-based (NASNet), dense-concat (DenseNet), transformer blocks
(token MLPs, layer norm, GELU, attention) and ConvNeXt blocks, and int8-quantized CNNs."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from .layers import Net

Spec = dict[str, Any]
FAMILY: dict[str, Callable[[Net, int, Spec, random.Random], int]] = {}


def family(name: str):
    def register(fn: Callable[[Net, int, Spec, random.Random], int]):
        FAMILY[name] = fn
        return fn

    return register


def _head(net: Net, x: int, spec: Spec) -> int:
    """Global average pool and a classifier: classifiers carry megabytes of dense weights."""
    x = net.mean(x, [1, 2])
    return net.dense(x, spec.get("head", 10))


@family("plain")
def plain(net: Net, x: int, spec: Spec, rng: random.Random) -> int:
    c = spec["width"]
    for _ in range(spec["depth"]):
        x = net.conv(x, c, 3, act="relu")
        x = net.conv(x, c, 3, act="relu")
        if net.shapes[x][1] >= 4:
            x = net.pool("MAX_POOL_2D", x, 2, 2)
        c = min(c * 2, 256)
    return _head(net, x, spec)


def _inverted(net: Net, x: int, c: int, out_c: int, stride: int, rng: random.Random,
              act: str | None, se: bool) -> int:  # fmt: skip
    e = net.conv(x, c * rng.choice([3, 6]), 1, act=act)
    if act is None:
        e = net.unary("HARD_SWISH", e)
    d = net.depthwise(e, rng.choice([3, 5]), stride, act=act)
    if se:
        sq = net.mean(d, [1, 2], keep_dims=True)
        sq = net.conv(sq, max(8, net.channels(d) // 4), 1, act="relu")
        gate = net.conv(sq, net.channels(d), 1)
        if rng.random() < 0.5:
            d = net.binary("MUL", d, net.unary("LOGISTIC", gate))
        else:
            d = net.hard_sigmoid_mul(d, gate)
    p = net.conv(d, out_c, 1)
    return net.binary("ADD", x, p) if stride == 1 and out_c == c else p


@family("mobilenet")
def mobilenet(net: Net, x: int, spec: Spec, rng: random.Random) -> int:
    return _mobile(net, x, spec, rng, "relu6", se=False)


@family("se_mobile")
def se_mobile(net: Net, x: int, spec: Spec, rng: random.Random) -> int:
    return _mobile(net, x, spec, rng, None, se=True)


def _mobile(net: Net, x: int, spec: Spec, rng: random.Random, act: str | None,
            se: bool) -> int:  # fmt: skip
    c = spec["width"]
    x = net.conv(x, c, 3, 2, act="relu6")
    for i in range(spec["depth"]):
        stride = 2 if i % 2 == 0 else 1
        out_c = c if stride == 1 else min(int(c * rng.choice([1.5, 2])), 320)
        x = _inverted(net, x, c, out_c, stride, rng, act, se)
        c = out_c
    last = 1280 if spec.get("head", 0) >= 1000 else min(c * 4, 1280)
    x = net.conv(x, last, 1, act="relu6")
    return net.softmax(_head(net, x, dict(spec, head=spec.get("head", 100))))


@family("resnet")
def resnet(net: Net, x: int, spec: Spec, rng: random.Random) -> int:
    c = spec["width"]
    x = net.conv(x, c, 7, 2, act="relu")
    x = net.pool("MAX_POOL_2D", x, 3, 2, "same")
    for i in range(spec["depth"]):
        stride = 1 if i == 0 else 2
        out_c = c if i == 0 else min(c * 2, 512)
        y = net.conv(net.conv(x, out_c, 3, stride, act="relu"), out_c, 3)
        sc = x if stride == 1 and out_c == c else net.conv(x, out_c, 1, stride)
        x = net.binary("ADD", y, sc, "relu")
        c = out_c
    return _head(net, x, spec)


@family("bottleneck")
def bottleneck(net: Net, x: int, spec: Spec, rng: random.Random) -> int:
    """ResNet50-like: compute-bound layers with 5-64 MB of weights in all."""
    c = spec["width"]
    x = net.conv(x, c, 7, 2, act="relu")
    x = net.pool("MAX_POOL_2D", x, 3, 2, "same")
    for i in range(spec["depth"]):
        for j in range(2):  # a projection block, then an identity block
            stride = 2 if i > 0 and j == 0 else 1
            y = net.conv(net.conv(x, c, 1, act="relu"), c, 3, stride, act="relu")
            y = net.conv(y, c * 4, 1)
            sc = net.conv(x, c * 4, 1, stride) if j == 0 else x
            x = net.binary("ADD", y, sc, "relu")
        c = min(c * 2, 512)
    return _head(net, x, dict(spec, head=spec.get("head", 1000)))


@family("unet")
def unet(net: Net, x: int, spec: Spec, rng: random.Random) -> int:
    skips, c = [], spec["width"]
    for _ in range(min(spec["depth"], 3)):
        x = net.conv(x, c, 3, act="relu")
        skips.append(x)
        x = net.pool("MAX_POOL_2D", x, 2, 2)
        c *= 2
    x = net.conv(x, c, 3, act="relu")
    for s in reversed(skips):
        c //= 2
        h, w = net.shapes[x][1:3]
        x = net.resize("RESIZE_BILINEAR", x, 2 * h, 2 * w)
        x = net.conv(net.concat([x, s]), c, 3, act="relu")
    return net.unary("LOGISTIC", net.conv(x, 2, 1))


@family("segment")
def segment(net: Net, x: int, spec: Spec, rng: random.Random) -> int:
    """MediaPipe-style segmentation and landmark nets: thin channels at high resolution,
    PReLU between convolutions, an encoder-decoder with transposed convolutions."""
    c = spec["width"]
    x = net.prelu(net.conv(x, c, 3, 2))
    skips = []
    for i in range(spec["depth"]):
        y = net.prelu(net.conv(net.depthwise(x, 3), c, 1))
        x = net.binary("ADD", x, y)
        if i % 2 == 1 and net.shapes[x][1] >= 16:
            skips.append(x)
            x = net.pool("MAX_POOL_2D", x, 2, 2)
            c = min(c * 2, 64)
            x = net.prelu(net.conv(x, c, 1))
    for s in reversed(skips):
        x = net.transpose_conv(x, net.channels(s), 2, 2)
        x = net.prelu(net.binary("ADD", x, s))
    return net.transpose_conv(x, rng.choice([1, 2]), 2, 2)
