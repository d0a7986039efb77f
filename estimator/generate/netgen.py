"""Generated multi-layer networks, measured end to end so the estimator can learn what summing
single ops misses (per-invocation overhead, cache effects between layers, fusion)."""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

FAMILIES = ("mobilenet", "resnet", "plain", "se_mobile", "unet", "segment")
# Drawn apart from the round-robin: ResNet50-like networks whose compute-bound layers carry
# 5-64 MB of weights, so the weight-spill term is fitted on more than one or two networks.
HEAVY = "bottleneck"


def spec_key(spec: dict[str, Any]) -> str:
    return hashlib.sha1(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def suite_specs(suite: str) -> list[dict[str, Any]]:
    if suite == "smoke":
        return [
            dict(family="plain", res=32, width=16, depth=3, seed=1),
            dict(family="mobilenet", res=48, width=8, depth=3, seed=2),
            dict(family="resnet", res=32, width=16, depth=2, seed=3),
        ]
    rng = random.Random(1122 if suite == "default" else 2211)
    n = 60 if suite == "default" else 120
    out = []
    for i in range(n):
        family = FAMILIES[i % len(FAMILIES)]
        res = [64, 96, 128, 160, 192, 224]
        width = [8, 16, 24, 32, 48, 64, 96]
        if family == "unet":
            res = [64, 96, 128]
        elif family == "segment":
            res, width = [128, 160, 192, 256], [4, 8, 8, 12, 16, 24]
        spec = dict(
            family=family,
            res=rng.choice(res),
            width=rng.choice(width),
            depth=rng.choice([2, 3, 4, 5, 6, 7]),
            seed=i,
        )
        if family in ("plain", "mobilenet", "se_mobile", "resnet"):
            # classifiers end in megabytes of dense weights (1280 x 1000 in MobileNetV2)
            spec["head"] = rng.choice([10, 100, 1000, 1000])
        out.append(spec)
    grid = [(r, w) for r in (96, 128, 160, 192, 224) for w in (16, 32, 48, 64)]
    for i, (res, width) in enumerate(rng.sample(grid, n // 6)):
        out.append(dict(family=HEAVY, res=res, width=width, depth=4, seed=n + i, head=1000))
    return out


def build(spec: dict[str, Any]) -> Any:
    """A Keras model for ``spec`` (deterministic for a given spec)."""
    import tensorflow as tf

    L = tf.keras.layers
    rng = random.Random(spec["seed"])
    res, width, depth = spec["res"], spec["width"], spec["depth"]
    x = inp = tf.keras.Input((res, res, 3), batch_size=1)
    family = spec["family"]

    def conv(t: Any, c: int, k: int = 3, s: int = 1, act: str | None = "relu") -> Any:
        return L.Conv2D(c, k, strides=s, padding="same", activation=act, bias_initializer="ones")(t)

    if family == "plain":
        c = width
        for _ in range(depth):
            x = conv(x, c)
            x = conv(x, c)
            if x.shape[1] >= 4:
                x = L.MaxPooling2D(2)(x)
            c = min(c * 2, 256)
        x = L.GlobalAveragePooling2D()(x)
        x = L.Dense(spec.get("head", 10))(x)
    elif family in ("mobilenet", "se_mobile"):
        act = "relu6" if family == "mobilenet" else None
        c = width
        x = conv(x, c, 3, 2, "relu6")
        for i in range(depth):
            stride = 2 if i % 2 == 0 else 1
            out_c = c if stride == 1 else min(int(c * rng.choice([1.5, 2])), 320)
            e = L.Conv2D(c * rng.choice([3, 6]), 1, padding="same", activation=act)(x)
            if act is None:
                e = L.Lambda(lambda t: t * tf.nn.relu6(t + 3.0) * (1.0 / 6.0))(e)
            d = L.DepthwiseConv2D(
                rng.choice([3, 5]), strides=stride, padding="same", activation=act
            )(e)
            if family == "se_mobile":
                squeeze = L.GlobalAveragePooling2D(keepdims=True)(d)
                squeeze = L.Conv2D(max(8, d.shape[-1] // 4), 1, activation="relu")(squeeze)
                squeeze = L.Conv2D(d.shape[-1], 1, activation="sigmoid")(squeeze)
                d = L.Multiply()([d, squeeze])
            p = L.Conv2D(out_c, 1, padding="same")(d)
            x = L.Add()([x, p]) if stride == 1 and out_c == c else p
            c = out_c
        x = conv(x, 1280 if spec.get("head", 0) >= 1000 else min(c * 4, 1280), 1, 1, "relu6")
        x = L.GlobalAveragePooling2D()(x)
        x = L.Dense(spec.get("head", 100))(x)
        x = L.Softmax()(x)
    elif family == "resnet":
        c = width
        x = conv(x, c, 7, 2)
        x = L.MaxPooling2D(3, strides=2, padding="same")(x)
        for i in range(depth):
            stride = 1 if i == 0 else 2
            out_c = c if i == 0 else min(c * 2, 512)
            y = conv(x, out_c, 3, stride)
            y = conv(y, out_c, 3, 1, None)
            sc = x if stride == 1 and out_c == c else conv(x, out_c, 1, stride, None)
            x = L.ReLU()(L.Add()([y, sc]))
            c = out_c
        x = L.GlobalAveragePooling2D()(x)
        x = L.Dense(spec.get("head", 10))(x)
    elif family == HEAVY:
        c = width
        x = conv(x, c, 7, 2)
        x = L.MaxPooling2D(3, strides=2, padding="same")(x)
        for i in range(depth):
            for j in range(2):  # a projection block, then an identity block
                stride = 2 if i > 0 and j == 0 else 1
                y = conv(conv(x, c, 1), c, 3, stride)
                y = conv(y, c * 4, 1, 1, None)
                sc = conv(x, c * 4, 1, stride, None) if j == 0 else x
                x = L.ReLU()(L.Add()([y, sc]))
            c = min(c * 2, 512)
        x = L.GlobalAveragePooling2D()(x)
        x = L.Dense(spec.get("head", 1000))(x)
    elif family == "unet":
        skips, c = [], width
        for _ in range(min(depth, 3)):
            x = conv(x, c)
            skips.append(x)
            x = L.MaxPooling2D(2)(x)
            c *= 2
        x = conv(x, c)
        for s in reversed(skips):
            c //= 2
            x = L.Lambda(lambda t: tf.image.resize(t, (t.shape[1] * 2, t.shape[2] * 2)))(x)
            x = L.Concatenate()([x, s])
            x = conv(x, c)
        x = conv(x, 2, 1, 1, None)
        x = L.Activation("sigmoid")(x)
    elif family == "segment":
        # MediaPipe-style segmentation and landmark nets: thin channels at high resolution,
        # PReLU between convolutions, an encoder-decoder with transposed convolutions. Ops
        # in that context run slower than alone (a PReLU between two 1x1 convs at 128x128x8
        # adds 0.08 ms to the 0.04 ms it takes alone), which only whole networks show.
        def prelu(t: Any) -> Any:
            return L.PReLU(shared_axes=[1, 2], alpha_initializer="ones")(t)

        c = width
        x = prelu(conv(x, c, 3, 2, None))
        skips = []
        for i in range(depth):
            y = L.DepthwiseConv2D(3, padding="same")(x)
            y = prelu(L.Conv2D(c, 1)(y))
            x = L.Add()([x, y])
            if i % 2 == 1 and x.shape[1] >= 16:
                skips.append(x)
                x = L.MaxPooling2D(2)(x)
                c = min(c * 2, 64)
                x = prelu(L.Conv2D(c, 1)(x))
        for s in reversed(skips):
            x = L.Conv2DTranspose(s.shape[-1], 2, strides=2)(x)
            x = prelu(L.Add()([x, s]))
        x = L.Conv2DTranspose(rng.choice([1, 2]), 2, strides=2)(x)
    else:
        raise ValueError(f"unknown family {family}")
    return tf.keras.Model(inp, x)
