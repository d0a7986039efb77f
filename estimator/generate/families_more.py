"""The families that widen what the estimator sees beyond plain CNNs: multi-branch
(Inception), cell-based (NASNet), dense-concat (DenseNet), transformer and ConvNeXt blocks on
token rows, and int8-quantized CNNs."""

from __future__ import annotations

import random

from .families import Spec, _head, family
from .layers import Net


@family("inception")
def inception(net: Net, x: int, spec: Spec, rng: random.Random) -> int:
    c = spec["width"]
    x = net.conv(x, c, 3, 2, "valid", act="relu")
    x = net.pool("MAX_POOL_2D", x, 3, 2, "valid")
    for i in range(spec["depth"]):
        b1 = net.conv(x, c, 1, act="relu")
        b2 = net.conv(net.conv(x, c // 2 + 8, 1, act="relu"), c, 3, act="relu")
        b3 = net.conv(net.conv(x, c // 4 + 8, 1, act="relu"), c // 2, 5, act="relu")
        b4 = net.conv(net.pool("AVERAGE_POOL_2D", x, 3, 1, "same"), c // 2, 1, act="relu")
        x = net.concat([b1, b2, b3, b4])
        if i % 2 == 1 and net.shapes[x][1] >= 6:
            x = net.pool("MAX_POOL_2D", x, 3, 2, "valid")
            c = min(int(c * 1.5), 256)
    return _head(net, x, spec)


def _separable(net: Net, x: int, c: int, k: int, s: int) -> int:
    """NASNet's separable convolution: ReLU, depthwise, pointwise (twice in the cell)."""
    y = net.unary("RELU", x)
    y = net.conv(net.depthwise(y, k, s), c, 1)
    return net.conv(net.depthwise(net.unary("RELU", y), k, 1), c, 1)


@family("nasnet")
def nasnet(net: Net, x: int, spec: Spec, rng: random.Random) -> int:
    c = spec["width"]
    x = net.conv(x, c, 3, 2, "valid")
    prev = x
    for i in range(spec["depth"]):
        reduce = i % 3 == 2 and net.shapes[x][1] >= 8
        s = 2 if reduce else 1
        if reduce:
            c = min(c * 2, 256)
        h = net.conv(net.unary("RELU", x), c, 1)
        p = net.conv(net.unary("RELU", prev), c, 1)
        if net.shapes[p][1] != net.shapes[h][1]:
            p = net.conv(net.pool("AVERAGE_POOL_2D", p, 1, 2, "valid"), c, 1)
        a = net.binary("ADD", _separable(net, h, c, rng.choice([5, 7]), s),
                       _separable(net, p if not reduce else h, c, 3, s))  # fmt: skip
        b = net.binary("ADD", net.pool("AVERAGE_POOL_2D", h, 3, s, "same"),
                       net.pool("MAX_POOL_2D", h, 3, s, "same"))  # fmt: skip
        d = net.binary("ADD", _separable(net, h, c, 3, s),
                       net.pool("AVERAGE_POOL_2D", h, 3, s, "same"))  # fmt: skip
        prev, x = x, net.concat([a, b, d])
    return _head(net, net.unary("RELU", x), spec)


@family("densenet")
def densenet(net: Net, x: int, spec: Spec, rng: random.Random) -> int:
    growth = max(8, spec["width"] // 2)
    x = net.conv(x, 2 * growth, 7, 2, act="relu")
    x = net.pool("MAX_POOL_2D", x, 3, 2, "same")
    for block in range(min(spec["depth"], 4)):
        for _ in range(rng.choice([2, 3, 4])):
            y = net.conv(net.unary("RELU", x), 4 * growth, 1, act="relu")
            x = net.concat([x, net.conv(y, growth, 3)])
        if block < min(spec["depth"], 4) - 1 and net.shapes[x][1] >= 4:
            x = net.conv(net.unary("RELU", x), net.channels(x) // 2, 1)
            x = net.pool("AVERAGE_POOL_2D", x, 2, 2)
    return _head(net, net.unary("RELU", x), spec)


def _mlp(net: Net, t: int, ratio: int, gelu: bool) -> int:
    c = net.channels(t)
    h = net.dense(t, c * ratio, keep_dims=True)
    h = net.gelu(h) if gelu else net.unary("RELU", h)
    return net.dense(h, c, keep_dims=True)


@family("transformer")
def transformer(net: Net, x: int, spec: Spec, rng: random.Random) -> int:
    """A mobile ViT: patch embedding, then blocks of layer norm, multi-head attention
    (BATCH_MATMUL, SOFTMAX over tokens) and a token MLP (FULLY_CONNECTED on [1, N, C], GELU)."""
    c, patch = spec["width"], spec.get("patch", 8)
    x = net.conv(x, c, patch, patch, "valid")
    n, h, w, _ = net.shapes[x]
    t = net.reshape(x, [1, h * w, c])
    heads = max(1, min(8, c // 32))
    for _ in range(spec["depth"]):
        t = net.binary("ADD", t, net.attention(net.layer_norm(t), heads))
        t = net.binary("ADD", t, _mlp(net, net.layer_norm(t), rng.choice([2, 4]), True))
    pooled = net.mean(net.layer_norm(t), [1])
    return net.dense(pooled, spec.get("head", 1000))


@family("convnext")
def convnext(net: Net, x: int, spec: Spec, rng: random.Random) -> int:
    """ConvNeXt blocks: a 7x7 depthwise, layer norm over channels, a token MLP as
    FULLY_CONNECTED on [1, H*W, C] rows, GELU, a layer scale and the residual add."""
    c = spec["width"]
    x = net.conv(x, c, 4, 4, "valid")
    for stage in range(min(spec["depth"], 3)):
        for _ in range(rng.choice([1, 2])):
            n, h, w, _ = net.shapes[x]
            y = net.layer_norm(net.depthwise(x, 7))
            y = _mlp(net, net.reshape(y, [1, h * w, c]), 4, True)
            y = net.binary_const("MUL", net.reshape(y, [1, h, w, c]))  # layer scale
            x = net.binary("ADD", x, y)
        if stage < min(spec["depth"], 3) - 1 and net.shapes[x][1] >= 4:
            c = min(c * 2, 384)
            x = net.conv(net.layer_norm(x), c, 2, 2, "valid")
    return net.dense(net.layer_norm(net.mean(x, [1, 2])), spec.get("head", 1000))


@family("mobilenet_int8")
def mobilenet_int8(net: Net, x: int, spec: Spec, rng: random.Random) -> int:
    """A fully int8 MobileNet: QUANTIZE at the input, int8 kernels, DEQUANTIZE for the head."""
    c = spec["width"]
    x = net.qconv(net.quantize(x), c, 3, 2, act="relu6")
    for i in range(spec["depth"]):
        stride = 2 if i % 2 == 0 else 1
        out_c = c if stride == 1 else min(c * 2, 320)
        e = net.qconv(x, c * rng.choice([3, 6]), 1, act="relu6")
        p = net.qconv(net.qdepthwise(e, 3, stride, act="relu6"), out_c, 1)
        x = net.qadd(x, p) if stride == 1 and out_c == c else p
        c = out_c
    return net.dense(net.mean(net.dequantize(x), [1, 2]), spec.get("head", 1000))


@family("resnet_int8")
def resnet_int8(net: Net, x: int, spec: Spec, rng: random.Random) -> int:
    c = spec["width"]
    x = net.qconv(net.quantize(x), c, 7, 2, act="relu")
    for i in range(spec["depth"]):
        stride = 1 if i == 0 else 2
        out_c = c if i == 0 else min(c * 2, 512)
        y = net.qconv(net.qconv(x, out_c, 3, stride, act="relu"), out_c, 3)
        sc = x if stride == 1 and out_c == c else net.qconv(x, out_c, 1, stride)
        x = net.qadd(y, sc, "relu")
        c = out_c
    return net.dense(net.mean(net.dequantize(x), [1, 2]), spec.get("head", 10))
