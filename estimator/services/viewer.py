"""What the ``leti-view`` process needs besides the page's payloads (:mod:`.page`): the models it
opens, its database, the demo model and how chatty the runtimes are, so that the server calls
the services and nothing below them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..graph import ModelGraph, read_model
from ..logs import set_verbose
from ..signals import let_signals_through, start_threads, stop_on_signals
from .estimate import Estimator

if TYPE_CHECKING:  # the database (SQLAlchemy) is imported only when the viewer opens one
    from ..db import Database

__all__ = [
    "Estimator",
    "ModelGraph",
    "demo_model",
    "let_signals_through",
    "open_database",
    "open_model",
    "set_verbose",
    "start_threads",
    "stop_on_signals",
]


def open_model(source: str | Path | bytes, name: str | None = None) -> ModelGraph:
    """A model the viewer shows (a file, or an upload's bytes), with the same one-line errors
    as ``leti inspect`` (missing, empty, truncated, not a TFLite model...)."""
    return read_model(source, name=name)


def open_database(url: str | None) -> Database:
    """The database ``--db`` names (default: the SQLite file in LETI_HOME)."""
    from ..db import open_db

    return open_db(url)


def demo_model() -> Path:
    """MobileNetV2 (alpha 0.5, 160x160, random weights) built with Keras, cached in LETI_HOME:
    the one model the viewer builds with TensorFlow, once."""
    from ..paths import leti_home

    path = leti_home() / "demo" / "mobilenet_v2_0.5_160.tflite"
    if not path.exists():
        from ..logs import native_stderr

        print("building the demo model (MobileNetV2 with Keras, once)...", file=sys.stderr)
        with native_stderr():  # TensorFlow's and absl's start-up lines
            import tensorflow as tf

            from ..generate.keras import convert

            model = tf.keras.applications.MobileNetV2(
                alpha=0.5, input_shape=(160, 160, 3), weights=None
            )
            data = convert(model)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return path
