"""The TFLite reader: a .tflite flatbuffer (file or bytes) into a :class:`ModelGraph`.

The file is decoded once, by the column reader (:mod:`.columns`): every tensor and operator
as arrays, with roles and costs, never materialising weight buffers, only their sizes. The
graph's Node and Tensor objects are made from those arrays the first time its ``nodes`` are
read (:mod:`.objects`), so a prediction that needs no per-node results never makes them. A
model whose shapes are computed at run time has its nodes made at once, its shapes resolved
(:mod:`.propagate`) and its shape-dependent columns recomputed. No TensorFlow, nor the
``tflite`` package, is imported: that keeps ``leti inspect`` and ``leti estimate`` far under a
second.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from ..errors import ModelFormatError
from . import flatbuffers as fb
from . import objects, propagate
from .column_heads import FIX, SUPPORTED_SCHEMA_VERSION, Malformed
from .columns import Decoded, decode, reshaped
from .nodes import ModelGraph, Node

T = TypeVar("T")
FILE_IDENTIFIER = b"TFL3"
__all__ = ["FILE_IDENTIFIER", "SUPPORTED_SCHEMA_VERSION", "read_model"]


def read_model(source: str | Path | bytes, name: str | None = None) -> ModelGraph:
    """Parse a model file (or its bytes) into a ModelGraph; raise ModelFormatError if unreadable."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        label = name or "<bytes>"
    else:
        path = Path(source)
        label = str(path)
        data = _read_file(path)
    _check_header(data, label)
    return _reading(label, data, lambda: _graph(data, label))


def _reading(label: str, data: bytes, read: Callable[[], T]) -> T:
    """``read()``, its errors on a bad file said in one line, naming the file (the nodes,
    made later from a file read without error, fail only on a corrupt table the columns do
    not read, and say so the same way)."""
    try:
        return read()
    except ModelFormatError:
        raise
    except Malformed as exc:
        raise ModelFormatError(f"{label}: {exc.message}", exc.hint) from None
    except fb.Truncated as exc:
        raise ModelFormatError(
            f"{label}: truncated TFLite file: it has {len(data)} bytes, but its contents reach "
            f"byte {exc.needed}, so it should be at least {exc.needed} bytes long",
            FIX,
        ) from None
    except Exception as exc:  # corrupt data fails the decoders in many ways
        raise ModelFormatError(
            f"{label}: corrupt TFLite file ({type(exc).__name__}: {exc})", FIX
        ) from None


def _read_file(path: Path) -> bytes:
    if not path.exists():
        raise ModelFormatError(f"{path}: no such file")
    if path.is_dir():
        raise ModelFormatError(f"{path}: is a directory, not a .tflite file")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ModelFormatError(f"{path}: cannot read ({exc.strerror})") from None


def _check_header(data: bytes, label: str) -> None:
    if not data:
        raise ModelFormatError(f"{label}: file is empty")
    if len(data) < 8:
        raise ModelFormatError(f"{label}: too short to be a TFLite model ({len(data)} bytes)")
    if data[4:8] != FILE_IDENTIFIER:
        raise ModelFormatError(
            f"{label}: not a TFLite model ({_guess_kind(data)}; a .tflite file carries the "
            "'TFL3' identifier)",
            "convert the model with tf.lite.TFLiteConverter first",
        )


def _guess_kind(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "looks like a PNG image"
    if data.startswith(b"PK"):
        return "looks like a zip archive (a Keras or PyTorch file?)"
    if data.startswith(b"\x89HDF"):
        return "looks like an HDF5 (Keras .h5) file"
    if data[:1] == b"\x08" and b"onnx" in data[:64].lower():
        return "looks like an ONNX model"
    if data[:1] == b"\x08":
        return "looks like a protobuf (ONNX or TensorFlow SavedModel?)"
    return "unknown format"


def _graph(data: bytes, label: str) -> ModelGraph:
    d = decode(data)
    head = d.heads[0]
    graph = ModelGraph(
        path=label,
        size_bytes=len(data),
        version=head.version,
        description=fb.string(data, head.description),
        subgraphs=objects.subgraphs(d, data),
        sha256=hashlib.sha256(data).hexdigest(),
        columns=d.columns,
    )
    if not d.needs_propagation[0]:
        graph.make_nodes = lambda: _reading(label, data, lambda: _nodes(d, data))
        return graph
    # shapes computed at run time: resolved in operator order, then the columns (and every
    # node's costs) computed again from them
    tensors = objects.tensors(d, data)
    graph.given_nodes = objects.nodes(d, data, tensors)
    propagate.resolve(graph)
    graph.columns = reshaped(d, [t.shape for t in tensors], [t.nbytes for t in tensors])
    objects.set_costs(graph.nodes, graph.columns)
    return graph


def _nodes(d: Decoded, data: bytes) -> list[Node]:
    return objects.nodes(d, data, objects.tensors(d, data))
