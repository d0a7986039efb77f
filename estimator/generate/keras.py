"""Keras models to .tflite through TensorFlow's converter: only where TensorFlow alone can
serve (the viewer's demo MobileNetV2, the Keras reference models of ``bench/``, and the tests
that hold the builder against the converter). Nothing a build, a measurement, a training or an
estimate runs imports this module."""

from __future__ import annotations

import contextlib
import io
from typing import Any

from ..logs import native_stderr


def convert(model: Any) -> bytes:
    """A Keras model's .tflite bytes, with the converter's chatter kept off the terminal."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    with contextlib.redirect_stdout(io.StringIO()), native_stderr():
        return converter.convert()
