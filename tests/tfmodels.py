"""Small TFLite models built with TensorFlow for the tests (none are checked in)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _tf():
    import tensorflow as tf

    return tf


def keras_to_tflite(model, path: Path, fp16: bool = False, dynamic_range: bool = False) -> Path:
    tf = _tf()
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    if fp16 or dynamic_range:
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
    if fp16:
        conv.target_spec.supported_types = [tf.float16]
    path.write_bytes(conv.convert())
    return path


def conv(path: Path) -> Path:
    tf = _tf()
    x = tf.keras.Input((16, 16, 3), batch_size=1)
    y = tf.keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(x)
    return keras_to_tflite(tf.keras.Model(x, y), path)


def depthwise(path: Path) -> Path:
    tf = _tf()
    x = tf.keras.Input((10, 10, 4), batch_size=1)
    y = tf.keras.layers.DepthwiseConv2D(3, depth_multiplier=2, padding="valid")(x)
    return keras_to_tflite(tf.keras.Model(x, y), path)


def dense(path: Path) -> Path:
    tf = _tf()
    x = tf.keras.Input((32,), batch_size=1)
    y = tf.keras.layers.Dense(10, bias_initializer="ones")(x)
    return keras_to_tflite(tf.keras.Model(x, y), path)


def pooling(path: Path) -> Path:
    tf = _tf()
    x = tf.keras.Input((12, 12, 5), batch_size=1)
    a = tf.keras.layers.MaxPooling2D(2)(x)
    b = tf.keras.layers.AveragePooling2D(3, strides=1, padding="valid")(a)
    return keras_to_tflite(tf.keras.Model(x, b), path)


def add_concat(path: Path) -> Path:
    tf = _tf()
    a = tf.keras.Input((6, 6, 4), batch_size=1)
    b = tf.keras.layers.Input((6, 6, 4), batch_size=1)
    s = tf.keras.layers.Add()([a, b])
    c = tf.keras.layers.Concatenate(axis=-1)([s, a])
    return keras_to_tflite(tf.keras.Model([a, b], c), path)


def fp16_conv(path: Path) -> Path:
    tf = _tf()
    x = tf.keras.Input((16, 16, 8), batch_size=1)
    y = tf.keras.layers.Conv2D(16, 3, padding="same")(x)
    return keras_to_tflite(tf.keras.Model(x, y), path, fp16=True)


def dynamic_batch_int8_dense(path: Path) -> Path:
    """Unknown batch (-1 in the signature) and int8 weights with quantization parameters."""
    tf = _tf()
    x = tf.keras.Input((64,))
    y = tf.keras.layers.Dense(64, activation="relu")(x)
    return keras_to_tflite(tf.keras.Model(x, y), path, dynamic_range=True)


def while_loop(path: Path) -> Path:
    """A WHILE op with its cond and body subgraphs (three subgraphs in all)."""
    tf = _tf()

    @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32), tf.TensorSpec([], tf.int32)])
    def f(x, n):
        _, y = tf.while_loop(lambda i, v: i < n, lambda i, v: (i + 1, v * 2.0 + 1.0), [0, x])
        return y

    conv = tf.lite.TFLiteConverter.from_concrete_functions([f.get_concrete_function()], f)
    path.write_bytes(conv.convert())
    return path


def conv_sized(path: Path, hw: int) -> Path:
    tf = _tf()
    x = tf.keras.Input((hw, hw, 16), batch_size=1)
    y = tf.keras.layers.Conv2D(16, 3, padding="same", bias_initializer="ones")(x)
    return keras_to_tflite(tf.keras.Model(x, y), path)


def conv_small(path: Path) -> Path:
    return conv_sized(path, 24)


def conv_4x(path: Path) -> Path:
    """Four times conv_small's FLOPs (twice the height and width)."""
    return conv_sized(path, 48)


def with_maximum(path: Path) -> Path:
    """A conv followed by MAXIMUM, an op type no suite measures and TensorFlow-generated
    configurations do not cover."""
    tf = _tf()
    x = tf.keras.Input((16, 16, 8), batch_size=1)
    y = tf.keras.layers.Conv2D(8, 3, padding="same", bias_initializer="ones")(x)
    z = tf.keras.layers.Maximum()([y, x])
    return keras_to_tflite(tf.keras.Model(x, z), path)


def pads(path: Path) -> Path:
    """One zero padding feeding a valid conv (merged by the runtime), one feeding a RELU."""
    tf = _tf()
    L = tf.keras.layers
    x = tf.keras.Input((16, 16, 4), batch_size=1)
    # padding 2 for a 3x3 kernel: no SAME convolution equals it, so the converter keeps the PAD
    a = L.Conv2D(8, 3, padding="valid", bias_initializer="ones")(L.ZeroPadding2D(2)(x))
    b = L.ReLU()(L.ZeroPadding2D(1)(x))
    return keras_to_tflite(tf.keras.Model(x, [a, b]), path)


def runtime_reshape(path: Path) -> Path:
    """A RESHAPE to a shape given at run time: unknowable when the op is measured alone."""
    tf = _tf()

    @tf.function(input_signature=[tf.TensorSpec([1, 4, 4, 2], tf.float32),
                                  tf.TensorSpec([2], tf.int32)])  # fmt: skip
    def f(x, shape):
        return tf.reshape(x, shape)

    conv = tf.lite.TFLiteConverter.from_concrete_functions([f.get_concrete_function()], f)
    path.write_bytes(conv.convert())
    return path


def small_net(path: Path) -> Path:
    """A MobileNet-style block stack with fused activations (Netron skips DOM ids for them),
    made by the project's own builder (no TensorFlow)."""
    from leti.estimator.generate.netgen import build

    path.write_bytes(build(dict(family="mobilenet", res=48, width=8, depth=3, seed=2)))
    return path


BUILDERS: dict[str, Callable[[Path], Path]] = {
    f.__name__: f
    for f in (
        conv,
        depthwise,
        dense,
        pooling,
        add_concat,
        fp16_conv,
        dynamic_batch_int8_dense,
        while_loop,
        conv_small,
        conv_4x,
        with_maximum,
        pads,
        runtime_reshape,
        small_net,
    )
}
