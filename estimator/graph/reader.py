"""The TFLite reader: a .tflite flatbuffer (file or bytes) into a :class:`ModelGraph`.

Structure is read with :mod:`.flatbuffers` field by field (field numbers follow TFLite's
schema.fbs), never materialising weight buffers, only their sizes; builtin options are decoded
through the ``tflite`` package's generated classes. No TensorFlow is imported: that keeps
``leti inspect`` and ``leti estimate`` far under a second.
"""

from __future__ import annotations

import hashlib
import re
import struct
from functools import cache
from pathlib import Path
from typing import Any

import tflite
from tflite.utils import BUILTIN_OPCODE2NAME

from ..errors import ModelFormatError
from ..ops import PAD_MERGING_OPS, TRANSPOSE_CONV_CUSTOM, WEIGHT_PREP_OPS
from . import costs, propagate
from . import flatbuffers as fb
from .columns import with_columns
from .dtypes import nbytes
from .nodes import ModelGraph, Node, Subgraph, Tensor

SUPPORTED_SCHEMA_VERSION = 3
FILE_IDENTIFIER = b"TFL3"
FIX = "re-export the model, or check that the download finished"


def _enum(cls: type) -> dict[int, str]:
    return {v: k for k, v in vars(cls).items() if not k.startswith("_")}


_TENSOR_TYPES = _enum(tflite.TensorType)
_OPTION_TYPES = _enum(tflite.BuiltinOptions)
_ACTIVATIONS = _enum(tflite.ActivationFunctionType)
_PADDINGS = _enum(tflite.Padding)


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
    try:
        return with_columns(_parse(data, label), data)
    except ModelFormatError:
        raise
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


def _parse(data: bytes, label: str) -> ModelGraph:
    # Model {version 0, operator_codes 1, subgraphs 2, description 3, buffers 4}
    model = fb.root(data)
    f_version, f_codes, f_subgraphs, f_desc, f_buffers = fb.fields(data, model, 5)
    version = fb.u32(data, f_version) if f_version else 0
    if version != SUPPORTED_SCHEMA_VERSION:
        raise ModelFormatError(
            f"{label}: unsupported TFLite schema version {version} "
            f"(this tool reads version {SUPPORTED_SCHEMA_VERSION})",
            "re-convert the model with a current TensorFlow",
        )
    buffer_sizes = _buffer_sizes(data, f_buffers, label)
    opcodes = [_opcode(data, t) for t in fb.tables(data, f_codes)]
    subgraphs: list[Subgraph] = []
    nodes: list[Node] = []
    for s, sg in enumerate(fb.tables(data, f_subgraphs)):
        # SubGraph {tensors 0, inputs 1, outputs 2, operators 3, name 4}
        f_tensors, f_in, f_out, f_ops, f_name = fb.fields(data, sg, 5)
        tensors = [
            _tensor(data, t, i, buffer_sizes) for i, t in enumerate(fb.tables(data, f_tensors))
        ]
        ops = fb.tables(data, f_ops)
        subgraphs.append(
            Subgraph(
                index=s,
                name=fb.string(data, f_name) or ("main" if s == 0 else f"subgraph_{s}"),
                inputs=fb.int32s(data, f_in),
                outputs=fb.int32s(data, f_out),
                operator_count=len(ops),
            )
        )
        mine = [_node(data, table, s, i, opcodes, tensors, label) for i, table in enumerate(ops)]
        for node in mine:
            if node.role == "weight_prep":
                # Once prepared these outputs are weights: consumers read them as constants.
                for t in node.outputs:
                    t.is_constant = True
        for node in mine:
            costs.apply(node)
        _mark_merged_pads(mine, set(subgraphs[-1].outputs))
        nodes += mine
    graph = ModelGraph(
        path=label,
        size_bytes=len(data),
        version=version,
        description=fb.string(data, f_desc),
        subgraphs=subgraphs,
        nodes=nodes,
        sha256=hashlib.sha256(data).hexdigest(),
    )
    if propagate.needed(graph):
        propagate.resolve(graph)
    return graph


def _buffer_sizes(data: bytes, f_buffers: int, label: str) -> list[tuple[int, int]]:
    """(size in bytes, start) of every buffer, checking each lies inside the file (catches
    truncation).

    Buffer {data 0, offset 1, size 2}: large models keep weights after the flatbuffer,
    addressed by offset and size."""
    sizes = []
    for b, table in enumerate(fb.tables(data, f_buffers)):
        f_data, f_offset, f_size = fb.fields(data, table, 3)
        offset = fb.u64(data, f_offset) if f_offset else 0
        if offset > 1:
            size = fb.u64(data, f_size) if f_size else 0
            start, end = offset, offset + size
        elif f_data:
            start, size = fb.vector(data, f_data)
            end = start + size
        else:
            start = size = end = 0
        if end > len(data):
            raise ModelFormatError(
                f"{label}: truncated TFLite file: it has {len(data)} bytes, but its buffer {b} "
                f"ends at byte {end}, so it should be at least {end} bytes long",
                FIX,
            )
        sizes.append((size, start))
    return sizes


def _opcode(data: bytes, table: int) -> tuple[str, str | None]:
    # OperatorCode {deprecated_builtin_code 0 (int8), custom_code 1, version 2, builtin_code 3}
    f_dep, f_custom, _, f_code = fb.fields(data, table, 4)
    deprecated = fb.u8(data, f_dep) if f_dep else 0
    builtin = max(fb.i32(data, f_code) if f_code else 0, deprecated if deprecated < 128 else 0)
    name = BUILTIN_OPCODE2NAME.get(builtin, f"UNKNOWN_BUILTIN_{builtin}")
    if name == "CUSTOM":
        custom = fb.string(data, f_custom) or "unnamed"
        return f"CUSTOM:{custom}", custom
    return name, None


_INT_VALUES = {"INT32": "i", "INT64": "q"}


def _tensor(data: bytes, table: int, index: int, buffer_sizes: list[tuple[int, int]]) -> Tensor:
    # Tensor {shape 0, type 1, buffer 2, name 3, quantization 4, is_variable 5, sparsity 6,
    # shape_signature 7}
    f_shape, f_type, f_buffer, f_name, f_quant, _, f_sparsity, f_sig = fb.fields(data, table, 8)
    code = fb.u8(data, f_type) if f_type else 0
    dtype = _TENSOR_TYPES.get(code, f"TYPE_{code}")
    shape = fb.int32s(data, f_shape)
    buf = fb.u32(data, f_buffer) if f_buffer else 0
    stored, start = buffer_sizes[buf] if 0 < buf < len(buffer_sizes) else (0, 0)
    numel = 1
    for d in shape:
        numel *= max(d, 1)
    value = None
    if stored and dtype in _INT_VALUES and stored <= 512:  # axes, paddings, shapes, indices
        n = stored // (4 if dtype == "INT32" else 8)
        value = struct.unpack_from(f"<{n}{_INT_VALUES[dtype]}", data, start)
    return Tensor(
        index=index,
        name=fb.string(data, f_name),
        shape=shape,
        shape_signature=fb.int32s(data, f_sig) if f_sig else list(shape),
        dtype=dtype,
        is_constant=stored > 0,
        nbytes=stored if stored else nbytes(dtype, numel),
        quantization=_quantization(data, f_quant) if f_quant else None,
        sparse=f_sparsity != 0,
        numel=numel,
        value=value,
    )


def _quantization(data: bytes, pos: int) -> dict[str, Any] | None:
    """QuantizationParameters {min 0, max 1, scale 2 (float), zero_point 3 (int64), ...,
    quantized_dimension 6}, or None when it carries no scale or zero point."""
    q = fb.deref(data, pos)
    _, _, f_scale, f_zero, _, _, f_dim = fb.fields(data, q, 7)
    scales, zeros = [], []
    if f_scale:
        start, n = fb.vector(data, f_scale)
        scales = list(struct.unpack_from(f"<{min(n, 8)}f", data, start))
        n_scale = n
    else:
        n_scale = 0
    if f_zero:
        start, n = fb.vector(data, f_zero)
        zeros = list(struct.unpack_from(f"<{min(n, 8)}q", data, start))
        n_zero = n
    else:
        n_zero = 0
    if not n_scale and not n_zero:
        return None
    return {
        "scale": [float(x) for x in scales],
        "zero_point": [int(x) for x in zeros],
        "channels": max(n_scale, n_zero),
        "quantized_dimension": fb.i32(data, f_dim) if f_dim else 0,
    }


def _node(
    data: bytes,
    table: int,
    s: int,
    i: int,
    opcodes: list[tuple[str, str | None]],
    tensors: list[Tensor],
    label: str,
) -> Node:
    # Operator {opcode_index 0, inputs 1, outputs 2, builtin_options_type 3, builtin_options 4}
    f_opcode, f_inputs, f_outputs, f_kind, f_options = fb.fields(data, table, 5)
    idx = fb.u32(data, f_opcode) if f_opcode else 0
    if idx >= len(opcodes):
        raise ModelFormatError(f"{label}: operator {s}:{i} names opcode {idx}, which is missing")
    name, custom = opcodes[idx]
    try:
        inputs = [tensors[t] for t in fb.int32s(data, f_inputs) if t >= 0]
        outputs = [tensors[t] for t in fb.int32s(data, f_outputs) if t >= 0]
    except IndexError:
        raise ModelFormatError(f"{label}: operator {s}:{i} names a missing tensor") from None
    kind = fb.u8(data, f_kind) if f_kind else 0
    options = _options(data, fb.deref(data, f_options), kind) if f_options and kind else {}
    _add_kernel(name, inputs, outputs, options)
    role = "compute"
    if custom is not None:
        role = "custom"
    elif name in WEIGHT_PREP_OPS and inputs and all(t.is_constant for t in inputs):
        role = "weight_prep"
    elif _shape_computation(inputs, outputs):
        role = "shape"
    return Node(s, i, name, inputs, outputs, options, custom, role=role)


def _shape_computation(inputs: list[Tensor], outputs: list[Tensor]) -> bool:
    """Integer arithmetic on a few values (SHAPE, GATHER, REDUCE_PROD, PACK on shapes): it
    runs, but costs next to nothing against any real layer."""
    tensors = inputs + outputs
    return bool(outputs) and all(t.dtype in ("INT32", "INT64") and t.numel <= 64 for t in tensors)


def _mark_merged_pads(nodes: list[Node], subgraph_outputs: set[int]) -> None:
    """Role ``merged`` for a spatial-only PAD whose one consumer is a convolution's input."""
    consumers: dict[int, list[tuple[Node, int]]] = {}
    for n in nodes:
        for pos, t in enumerate(n.inputs):
            consumers.setdefault(t.index, []).append((n, pos))
    for n in nodes:
        if n.op != "PAD" or n.role != "compute" or len(n.inputs) < 2 or len(n.outputs) != 1:
            continue
        x, paddings, out = n.inputs[0], n.inputs[1], n.outputs[0]
        if not paddings.is_constant or len(x.shape) != 4 or len(out.shape) != 4:
            continue
        if x.shape[0] != out.shape[0] or x.shape[3] != out.shape[3]:
            continue  # batch or channel padding: not a convolution's border
        users = consumers.get(out.index, [])
        if out.index in subgraph_outputs or len(users) != 1:
            continue
        user, pos = users[0]
        if user.op in PAD_MERGING_OPS and pos == 0:
            n.role = "merged"


def _add_kernel(
    name: str, inputs: list[Tensor], outputs: list[Tensor], options: dict[str, Any]
) -> None:
    """Put the kernel size where a reader expects it; TFLite keeps it in the filter's shape."""
    w = inputs[1].shape if len(inputs) > 1 else []
    if name in ("CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV", TRANSPOSE_CONV_CUSTOM):
        if len(w) == 4:
            options["kernel_h"], options["kernel_w"] = w[1], w[2]
    elif "filter_height" in options:
        options["kernel_h"], options["kernel_w"] = options["filter_height"], options["filter_width"]
    if name == TRANSPOSE_CONV_CUSTOM and inputs and outputs and len(inputs[0].shape) == 4:
        # MediaPipe keeps stride and padding in opaque custom options; the shapes tell the stride
        stride = outputs[0].shape[1] // max(inputs[0].shape[1], 1)
        options["stride_h"] = options["stride_w"] = stride


_OPTIONS_CACHE: dict[tuple[str, bytes], dict[str, Any]] = {}


def _options(data: bytes, pos: int, kind_code: int) -> dict[str, Any]:
    """The op's builtin options as a dict, decoded once per distinct scalar-only table."""
    kind = _OPTION_TYPES.get(kind_code)
    if not kind or kind == "NONE":
        return {}
    cls = getattr(tflite, kind, None)
    if cls is None:
        return {}
    key = None
    if not any(vector for _, _, vector in _getters(cls)):
        # Scalar-only tables are position independent: their vtable and inline bytes say all.
        vtable = pos - fb.i32(data, pos)
        vsize, tsize = fb.u16(data, vtable), fb.u16(data, vtable + 2)
        key = (kind, bytes(data[vtable : vtable + vsize]) + bytes(data[pos : pos + tsize]))
        hit = _OPTIONS_CACHE.get(key)
        if hit is not None:
            return dict(hit)
    out = _decode_options(cls, data, pos)
    if key is not None:
        if len(_OPTIONS_CACHE) > 4096:
            _OPTIONS_CACHE.clear()
        _OPTIONS_CACHE[key] = dict(out)
    return out


def _decode_options(cls: type, data: bytes, pos: int) -> dict[str, Any]:
    obj = cls()
    obj.Init(data, pos)
    out: dict[str, Any] = {}
    for getter, key, vector in _getters(cls):
        if vector:
            if getattr(obj, getter + "Length")():
                out[key] = [x.item() for x in getattr(obj, getter + "AsNumpy")()]
            continue
        value = getattr(obj, getter)()
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if key == "padding":
            value = _PADDINGS.get(value, value)
        elif key == "fused_activation_function":
            value = _ACTIVATIONS.get(value, value)
        if isinstance(value, int | float | str | bool):
            out[key] = value
    return out


@cache
def _getters(cls: type) -> list[tuple[str, str, bool]]:
    """Scalar and vector field getters of a generated options class (cached per class)."""
    names = [n for n in vars(cls) if n[:1].isupper() and callable(getattr(cls, n))]
    skip_suffixes = ("AsNumpy", "Length", "IsNone", "BufferHasIdentifier")
    out = []
    for n in names:
        if n.startswith("GetRootAs") or n == "Init" or n.endswith(skip_suffixes):
            continue
        out.append((n, _snake(n), n + "AsNumpy" in names))
    return out


def _snake(name: str) -> str:
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()
