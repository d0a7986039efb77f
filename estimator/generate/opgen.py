"""Generate single-operator .tflite models with TensorFlow (Keras layer -> TFLiteConverter).

Every generated model is read back with the graph reader and rejected unless it holds exactly
the intended op with the intended options: a converter that silently splits, fuses or drops an
op would otherwise poison the database with measurements of the wrong thing.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import LetiError
from ..ops import ACTIVATION_OPS, FUSABLE
from ..tflite import Node, read_model

SUPPORTED_OPS = (
    "CONV_2D",
    "DEPTHWISE_CONV_2D",
    "FULLY_CONNECTED",
    "TRANSPOSE_CONV",
    "ADD",
    "SUB",
    "MUL",
    "CONCATENATION",
    "AVERAGE_POOL_2D",
    "MAX_POOL_2D",
    "MEAN",
    "PAD",
    "RESIZE_BILINEAR",
    "RESIZE_NEAREST_NEIGHBOR",
    "SOFTMAX",
    "RESHAPE",
    *ACTIVATION_OPS,
)


class GenerationError(LetiError):
    """The converter did not produce the intended single-op model."""


@dataclass(frozen=True)
class OpConfig:
    """One operator configuration: its type and the parameters its generator takes."""

    op: str
    params: dict[str, Any] = field(hash=False)
    source: str = field(default="grid", compare=False)

    @property
    def key(self) -> str:
        canonical = json.dumps({"op": self.op, **self.params}, sort_keys=True)
        return hashlib.sha1(canonical.encode()).hexdigest()[:16]

    def label(self) -> str:
        inner = ",".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        return f"{self.op}({inner})"


def _tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    return tf


def _act(name: str | None) -> Any:
    return None if name in (None, "none", "NONE") else name


def _build_keras(cfg: OpConfig) -> Any:
    tf = _tf()
    L = tf.keras.layers
    p = cfg.params
    h, w = p.get("h", 1), p.get("w", 1)
    cin = p.get("cin", 1)
    act = _act(p.get("act"))
    pad = p.get("padding", "same")
    n = p.get("n", 1)  # batch: KNIFT matches 200 patches in one call
    x = tf.keras.Input((h, w, cin), batch_size=n)
    inputs = [x]
    op = cfg.op
    if op == "CONV_2D":
        y = L.Conv2D(
            p["cout"], p["k"], strides=p.get("s", 1), padding=pad, activation=act,
            dilation_rate=p.get("d", 1), bias_initializer="ones",
        )(x)  # fmt: skip
    elif op == "DEPTHWISE_CONV_2D":
        y = L.DepthwiseConv2D(
            p["k"], strides=p.get("s", 1), padding=pad, activation=act,
            depth_multiplier=p.get("m", 1), bias_initializer="ones",
        )(x)  # fmt: skip
    elif op == "FULLY_CONNECTED":
        x = tf.keras.Input((cin,), batch_size=n)
        inputs = [x]
        y = L.Dense(p["cout"], activation=act, bias_initializer="ones")(x)
    elif op == "TRANSPOSE_CONV":
        y = L.Conv2DTranspose(
            p["cout"], p["k"], strides=p.get("s", 1), padding=pad, bias_initializer="ones"
        )(x)
    elif op in ("ADD", "SUB", "MUL") and p.get("const"):
        # a constant operand, as in input normalisation (x - mean) / std: const=1 one value
        # per channel, const=2 one value in all (Keras' Rescaling)
        import numpy as np

        vec = np.linspace(0.5, 1.5, cin, dtype=np.float32) if p["const"] == 1 else np.float32(0.5)
        fn = {"ADD": lambda t: t + vec, "SUB": lambda t: t - vec, "MUL": lambda t: t * vec}[op]
        y = L.Lambda(fn)(x)
    elif op in ("ADD", "SUB", "MUL"):
        # bcast=1: the second input is one value per channel, as in squeeze-excite blocks
        x2 = tf.keras.Input((1, 1, cin) if p.get("bcast") else (h, w, cin), batch_size=n)
        inputs = [x, x2]
        y = {"ADD": L.Add, "SUB": L.Subtract, "MUL": L.Multiply}[op]()([x, x2])
        if act:
            y = L.Activation(act)(y)
    elif op == "CONCATENATION":
        x2 = tf.keras.Input((h, w, p["cin2"]), batch_size=n)
        inputs = [x, x2]
        y = L.Concatenate(axis=-1)([x, x2])
    elif op in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        layer = L.AveragePooling2D if op == "AVERAGE_POOL_2D" else L.MaxPooling2D
        y = layer(p["k"], strides=p.get("s", p["k"]), padding=pad)(x)
    elif op == "MEAN":
        y = L.GlobalAveragePooling2D(keepdims=bool(p.get("keepdims", 0)))(x)
    elif op == "PAD":
        y = L.ZeroPadding2D(p.get("pad", 1))(x)
    elif op in ("RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR"):
        # UpSampling2D's nearest mode lowers to TILE/RESHAPE; tf.image.resize keeps the op.
        method = "bilinear" if op == "RESIZE_BILINEAR" else "nearest"
        size = (h * p.get("scale", 2), w * p.get("scale", 2))
        y = L.Lambda(lambda t: tf.image.resize(t, size, method=method))(x)
    elif op == "SOFTMAX":
        x = tf.keras.Input((cin,), batch_size=n) if h * w == 1 else x
        inputs = [x]
        y = L.Softmax()(x)
    elif op == "RESHAPE":
        y = L.Reshape((h * w, cin))(x)
    elif op == "RELU":
        y = L.ReLU()(x)
    elif op == "RELU6":
        y = L.ReLU(max_value=6.0)(x)
    elif op == "PRELU":
        y = L.PReLU(shared_axes=[1, 2], alpha_initializer=tf.keras.initializers.Constant(0.25))(x)
    elif op == "LOGISTIC":
        y = L.Activation("sigmoid")(x)
    elif op == "TANH":
        y = L.Activation("tanh")(x)
    elif op == "HARD_SWISH":
        y = L.Lambda(lambda t: t * tf.nn.relu6(t + 3.0) * (1.0 / 6.0))(x)
    else:
        raise GenerationError(f"no generator for op type {op}")
    return tf.keras.Model(inputs, y)


def convert(model: Any) -> bytes:
    """Keras model to .tflite bytes, keeping the converter's chatter off the user's terminal."""
    tf = _tf()
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    with contextlib.redirect_stdout(io.StringIO()):
        return converter.convert()


def generate(cfg: OpConfig) -> tuple[bytes, Node]:
    """Build, convert and verify one single-op model; return its bytes and the op's node."""
    if cfg.op not in SUPPORTED_OPS:
        raise GenerationError(f"no generator for op type {cfg.op}")
    try:
        data = convert(_build_keras(cfg))
    except GenerationError:
        raise
    except Exception as exc:  # Keras and the converter reject impossible configurations
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise GenerationError(f"{cfg.label()}: TensorFlow could not build it: {first}") from None
    return data, verify(cfg, data)


def verify(cfg: OpConfig, data: bytes) -> Node:
    graph = read_model(data, name=cfg.label())
    ops = [n.op for n in graph.nodes]
    main = [n for n in graph.nodes if n.op == cfg.op]
    others = [o for o in ops if o != cfg.op]
    if len(main) != 1 or others:
        raise GenerationError(f"{cfg.label()}: converter produced {ops}, expected one {cfg.op}")
    node = main[0]
    batch = node.outputs[0].shape[0] if node.outputs and node.outputs[0].shape else 1
    if batch != cfg.params.get("n", 1) and cfg.op not in ("SOFTMAX", "RESHAPE"):
        raise GenerationError(f"{cfg.label()}: generated op has batch {batch}")
    for check in _CHECKS.get(cfg.op, ()):
        problem = check(cfg.params, node)
        if problem:
            raise GenerationError(f"{cfg.label()}: generated op has {problem}")
    if cfg.op in FUSABLE:
        want = (_act(cfg.params.get("act")) or "none").upper()
        if node.fused_activation != want:
            raise GenerationError(
                f"{cfg.label()}: fused activation is {node.fused_activation}, expected {want}"
            )
    return node


def _stride(p: dict[str, Any], n: Node) -> str | None:
    s = p.get("s", p.get("k") if n.op.endswith("POOL_2D") else 1)
    got = (n.options.get("stride_h"), n.options.get("stride_w"))
    return None if got == (s, s) else f"strides {got}, expected {s}"


def _kernel(p: dict[str, Any], n: Node) -> str | None:
    got = (n.options.get("kernel_h"), n.options.get("kernel_w"))
    return None if got == (p["k"], p["k"]) else f"kernel {got}, expected {p['k']}"


def _padding(p: dict[str, Any], n: Node) -> str | None:
    want = p.get("padding", "same").upper()
    got = n.options.get("padding")
    return None if got == want else f"padding {got}, expected {want}"


def _cout(p: dict[str, Any], n: Node) -> str | None:
    got = n.outputs[0].shape[-1]
    want = p["cout"] if "cout" in p else p["cin"] * p.get("m", 1)
    return None if got == want else f"{got} output channels, expected {want}"


_CHECKS: dict[str, tuple[Callable[[dict[str, Any], Node], str | None], ...]] = {
    "CONV_2D": (_stride, _kernel, _padding, _cout),
    "DEPTHWISE_CONV_2D": (_stride, _kernel, _padding, _cout),
    "TRANSPOSE_CONV": (_stride, _kernel, _padding, _cout),
    "FULLY_CONNECTED": (_cout,),
    "AVERAGE_POOL_2D": (_stride, _kernel, _padding),
    "MAX_POOL_2D": (_stride, _kernel, _padding),
}
