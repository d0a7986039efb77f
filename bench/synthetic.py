"""Generated models of a chosen operator count, for speed benchmarks (no download)."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def stacked(n_ops: int, path: Path, width: int = 16, res: int = 32) -> Path:
    """A chain of residual blocks (conv, depthwise, conv, add: four ops each) of ~n_ops ops."""
    if path.exists():
        return path
    import tensorflow as tf
    from leti.estimator.generate.opgen import convert

    L = tf.keras.layers
    x = inp = tf.keras.Input((res, res, width), batch_size=1)
    for _ in range(max(1, n_ops // 4)):
        y = L.Conv2D(width, 1, activation="relu", bias_initializer="ones")(x)
        y = L.DepthwiseConv2D(3, padding="same", activation="relu6", bias_initializer="ones")(y)
        y = L.Conv2D(width, 1, bias_initializer="ones")(y)
        x = L.Add()([x, y])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(convert(tf.keras.Model(inp, x)))
    return path
