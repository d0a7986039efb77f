"""Read a .tflite flatbuffer into a list of operator nodes with the facts an estimator needs.

The reader walks the flatbuffer through the ``tflite`` package's generated accessors instead of
loading TensorFlow: that keeps ``leti inspect`` and ``leti estimate`` far under a second, and
never materialises weight buffers (only their sizes are read).
"""

from __future__ import annotations

import hashlib
import re
import struct
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import tflite
from tflite.utils import BUILTIN_OPCODE2NAME

from .costs import op_costs
from .errors import ModelFormatError

SUPPORTED_SCHEMA_VERSION = 3
FILE_IDENTIFIER = b"TFL3"

# Bytes per element; INT4 packs two per byte, which we round up per tensor.
DTYPE_SIZES: dict[str, float] = {
    "FLOAT32": 4,
    "FLOAT16": 2,
    "BFLOAT16": 2,
    "FLOAT64": 8,
    "INT32": 4,
    "UINT32": 4,
    "INT64": 8,
    "UINT64": 8,
    "INT16": 2,
    "UINT16": 2,
    "INT8": 1,
    "UINT8": 1,
    "BOOL": 1,
    "INT4": 0.5,
    "COMPLEX64": 8,
    "COMPLEX128": 16,
    "STRING": 1,
    "RESOURCE": 0,
    "VARIANT": 0,
}

_TENSOR_TYPES = {v: k for k, v in vars(tflite.TensorType).items() if not k.startswith("_")}
_OPTION_TYPES = {v: k for k, v in vars(tflite.BuiltinOptions).items() if not k.startswith("_")}
_ACTIVATIONS = {
    v: k for k, v in vars(tflite.ActivationFunctionType).items() if not k.startswith("_")
}
_PADDINGS = {v: k for k, v in vars(tflite.Padding).items() if not k.startswith("_")}

TRANSPOSE_CONV_CUSTOM = "CUSTOM:Convolution2DTransposeBias"

# Ops that only turn stored constants into the form the kernels use. A delegate (and the CPU
# runtime, at prepare time) does this once, so they cost nothing per inference.
WEIGHT_PREP_OPS = {"DEQUANTIZE", "DENSIFY"}

# Convolutions whose input zero padding the runtimes merge into the convolution itself
# (XNNPACK's subgraph rewrite, the GPU delegate's merge_padding_with pass). Measured on the
# host: PAD(1) + 3x3 conv times as the conv alone (0.148 vs 0.148 ms at 224x224x3) while the
# PAD alone takes 0.41 ms.
PAD_MERGING_OPS = {"CONV_2D", "DEPTHWISE_CONV_2D"}


@dataclass
class Tensor:
    index: int
    name: str
    shape: list[int]
    shape_signature: list[int]
    dtype: str
    is_constant: bool
    nbytes: int
    quantization: dict[str, Any] | None = None
    sparse: bool = False
    numel: int = 1  # elements, unknown (-1) dimensions counted as 1

    @property
    def dynamic(self) -> bool:
        return any(d < 0 for d in self.shape_signature)


@dataclass
class Node:
    """One operator. ``index`` is the key Netron and Model Explorer use for TFLite nodes."""

    subgraph: int
    index: int
    op: str
    inputs: list[Tensor]
    outputs: list[Tensor]
    options: dict[str, Any] = field(default_factory=dict)
    custom_code: str | None = None
    macs: int = 0
    flops: int = 0
    bytes_activations_read: int = 0
    bytes_weights_read: int = 0
    bytes_written: int = 0
    params: int = 0
    role: str = "compute"

    @property
    def key(self) -> str:
        return f"{self.subgraph}:{self.index}"

    @property
    def is_custom(self) -> bool:
        return self.custom_code is not None

    @property
    def fused_activation(self) -> str:
        return self.options.get("fused_activation_function", "NONE")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["key"] = self.key
        d["is_custom"] = self.is_custom
        for group in ("inputs", "outputs"):
            for t in d[group]:
                t["dynamic"] = any(x < 0 for x in t["shape_signature"])
        return d


@dataclass
class Subgraph:
    index: int
    name: str
    inputs: list[int]
    outputs: list[int]
    operator_count: int


@dataclass
class ModelGraph:
    path: str
    size_bytes: int
    version: int
    description: str
    subgraphs: list[Subgraph]
    nodes: list[Node]
    sha256: str

    def totals(self) -> dict[str, int]:
        keys = ("macs", "flops", "bytes_activations_read", "bytes_weights_read", "bytes_written")
        out = {k: sum(getattr(n, k) for n in self.nodes) for k in keys}
        out["params"] = sum(n.params for n in self.nodes)
        out["operators"] = len(self.nodes)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "size_bytes": self.size_bytes,
            "sha256": self.sha256,
            "schema_version": self.version,
            "description": self.description,
            "subgraphs": [asdict(s) for s in self.subgraphs],
            "totals": self.totals(),
            "nodes": [n.to_dict() for n in self.nodes],
        }


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
        return _parse(data, label)
    except ModelFormatError:
        raise
    except Exception as exc:  # the generated accessors fail in many ways on corrupt data
        raise ModelFormatError(
            f"{label}: corrupt or truncated TFLite file ({type(exc).__name__}: {exc})",
            "re-export the model, or check that the download finished",
        ) from None


def _read_file(path: Path) -> bytes:
    if not path.exists():
        raise ModelFormatError(f"{path}: no such file")
    if path.is_dir():
        raise ModelFormatError(f"{path}: is a directory, not a .tflite file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelFormatError(f"{path}: cannot read ({exc.strerror})") from None
    if not data:
        raise ModelFormatError(f"{path}: file is empty")
    return data


def _check_header(data: bytes, label: str) -> None:
    if len(data) < 8:
        raise ModelFormatError(f"{label}: too short to be a TFLite model ({len(data)} bytes)")
    if data[4:8] != FILE_IDENTIFIER:
        kind = _guess_kind(data)
        raise ModelFormatError(
            f"{label}: not a TFLite model ({kind}; a .tflite file carries the 'TFL3' identifier)",
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
    model = tflite.Model.GetRootAsModel(data, 0)
    version = model.Version()
    if version != SUPPORTED_SCHEMA_VERSION:
        raise ModelFormatError(
            f"{label}: unsupported TFLite schema version {version} "
            f"(this tool reads version {SUPPORTED_SCHEMA_VERSION})",
            "re-convert the model with a current TensorFlow",
        )
    buffer_sizes = _buffer_sizes(model, len(data), label)
    opcodes = [_opcode_name(model.OperatorCodes(i)) for i in range(model.OperatorCodesLength())]
    subgraphs: list[Subgraph] = []
    nodes: list[Node] = []
    for s in range(model.SubgraphsLength()):
        sg = model.Subgraphs(s)
        tensors = _tensors(data, sg, buffer_sizes)
        count = sg.OperatorsLength()
        subgraphs.append(
            Subgraph(
                index=s,
                name=_str(sg.Name()) or ("main" if s == 0 else f"subgraph_{s}"),
                inputs=_ints(sg, "Inputs"),
                outputs=_ints(sg, "Outputs"),
                operator_count=count,
            )
        )
        ops_vec = sg._tab.Vector(sg._tab.Offset(10)) if count else 0  # SubGraph.operators
        for i in range(count):
            elem = ops_vec + 4 * i
            node = _node(data, elem + _U32(data, elem)[0], s, i, opcodes, tensors, label)
            if node.role == "weight_prep":
                # Once prepared these outputs are weights: consumers read them as constants.
                for t in node.outputs:
                    t.is_constant = True
            nodes.append(node)
        _mark_merged_pads(nodes[len(nodes) - count :], set(subgraphs[-1].outputs))
    return ModelGraph(
        path=label,
        size_bytes=len(data),
        version=version,
        description=_str(model.Description()),
        subgraphs=subgraphs,
        nodes=nodes,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _buffer_sizes(model: Any, file_size: int, label: str) -> list[int]:
    """Size in bytes of every buffer, checking each lies inside the file (catches truncation).

    Read with ``struct`` (Buffer {data 0, offset 1, size 2}): models have hundreds of them.
    """
    data = model._tab.Bytes
    o = model._tab.Offset(12)  # Model.buffers
    if not o:
        return []
    vec, count = model._tab.Vector(o), model._tab.VectorLen(o)
    sizes = []
    for b in range(count):
        elem = vec + 4 * b
        table = elem + _U32(data, elem)[0]
        pos = _field(data, table, 1)
        offset = _U64(data, pos)[0] if pos else 0
        if offset > 1:  # large models keep weights after the flatbuffer, addressed by offset
            pos = _field(data, table, 2)
            size = _U64(data, pos)[0] if pos else 0
            if offset + size > file_size:
                raise ModelFormatError(
                    f"{label}: truncated TFLite file (buffer {b} ends at byte {offset + size}, "
                    f"the file has {file_size})",
                    "re-export the model, or check that the download finished",
                )
            sizes.append(size)
            continue
        pos = _field(data, table, 0)
        n = 0
        if pos:
            start = pos + _U32(data, pos)[0]
            n = _U32(data, start)[0]
            if start + 4 + n > file_size:
                raise ModelFormatError(f"{label}: truncated TFLite file (buffer {b})")
        sizes.append(n)
    return sizes


def _opcode_name(code: Any) -> tuple[str, str | None]:
    builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
    name = BUILTIN_OPCODE2NAME.get(builtin, f"UNKNOWN_BUILTIN_{builtin}")
    if name == "CUSTOM":
        custom = _str(code.CustomCode()) or "unnamed"
        return f"CUSTOM:{custom}", custom
    return name, None


def _tensors(data: bytes, sg: Any, buffer_sizes: list[int]) -> list[Tensor]:
    """Every tensor of a subgraph, read straight from the flatbuffer's tables.

    Tensors outnumber operators two to one, and the generated accessors cost several
    microseconds per field; reading the few fields we need with ``struct`` makes
    :meth:`LatencyEstimator.predict_many` several times faster. Field numbers follow
    schema.fbs: Tensor {shape 0, type 1, buffer 2, name 3, quantization 4, is_variable 5,
    sparsity 6, shape_signature 7}.
    """
    o = sg._tab.Offset(4)  # SubGraph.tensors
    if not o:
        return []
    vec = sg._tab.Vector(o)
    count = sg._tab.VectorLen(o)
    out = []
    for i in range(count):
        elem = vec + 4 * i
        out.append(_tensor(data, elem + _U32(data, elem)[0], i, buffer_sizes))
    return out


_U32 = struct.Struct("<I").unpack_from
_U64 = struct.Struct("<Q").unpack_from
_I32 = struct.Struct("<i").unpack_from
_U16 = struct.Struct("<H").unpack_from


def _field(data: bytes, table: int, field: int) -> int:
    """Absolute position of a table field, or 0 when absent (flatbuffers vtable lookup)."""
    vtable = table - _I32(data, table)[0]
    slot = 4 + 2 * field
    if slot >= _U16(data, vtable)[0]:
        return 0
    off = _U16(data, vtable + slot)[0]
    return table + off if off else 0


_SLOT_STRUCTS = {n: struct.Struct(f"<{n}H").unpack_from for n in range(1, 17)}


def _slots(data: bytes, table: int, n: int) -> list[int]:
    """Absolute positions of a table's first ``n`` fields (0 when absent), from one vtable
    read: :func:`_field` per field costs three ``struct`` calls, and tensors need eight."""
    vtable = table - _I32(data, table)[0]
    have = min(n, (_U16(data, vtable)[0] - 4) // 2)
    offs = _SLOT_STRUCTS[have](data, vtable + 4) if have > 0 else ()
    return [table + o if o else 0 for o in offs] + [0] * (n - max(have, 0))


def _int_vector(data: bytes, pos: int) -> list[int]:
    if not pos:
        return []
    vec = pos + _U32(data, pos)[0]
    n = _U32(data, vec)[0]
    return list(struct.unpack_from(f"<{n}i", data, vec + 4))


def _tensor(data: bytes, table: int, index: int, buffer_sizes: list[int]) -> Tensor:
    f_shape, f_type, f_buffer, name_pos, quant, _, f_sparsity, sig_pos = _slots(data, table, 8)
    code = data[f_type] if f_type else 0
    dtype = _TENSOR_TYPES.get(code, f"TYPE_{code}")
    shape = _int_vector(data, f_shape)
    signature = _int_vector(data, sig_pos) if sig_pos else shape
    buf = _U32(data, f_buffer)[0] if f_buffer else 0
    stored = buffer_sizes[buf] if 0 < buf < len(buffer_sizes) else 0
    if name_pos:
        start = name_pos + _U32(data, name_pos)[0]
        name = data[start + 4 : start + 4 + _U32(data, start)[0]].decode("utf-8", "replace")
    else:
        name = ""
    numel = 1
    for d in shape:
        numel *= max(d, 1)
    nbytes = stored if stored else int(-(-numel * DTYPE_SIZES.get(dtype, 4) // 1))
    return Tensor(
        index=index,
        name=name,
        shape=shape,
        shape_signature=signature,
        dtype=dtype,
        is_constant=stored > 0,
        nbytes=nbytes,
        quantization=_quantization(data, table) if _has_scale(data, quant) else None,
        sparse=f_sparsity != 0,
        numel=numel,
    )


def _has_scale(data: bytes, quant_field: int) -> bool:
    """True when QuantizationParameters carries a scale or zero point (fields 2 and 3)."""
    if not quant_field:
        return False
    q = quant_field + _U32(data, quant_field)[0]
    for pos in _slots(data, q, 4)[2:]:
        if pos and _U32(data, pos + _U32(data, pos)[0])[0]:
            return True
    return False


def _quantization(data: bytes, table: int) -> dict[str, Any] | None:
    tab = tflite.Tensor()
    tab.Init(data, table)
    q = tab.Quantization()
    if q is None or (q.ScaleLength() == 0 and q.ZeroPointLength() == 0):
        return None
    scales = [float(x) for x in q.ScaleAsNumpy()] if q.ScaleLength() else []
    zeros = [int(x) for x in q.ZeroPointAsNumpy()] if q.ZeroPointLength() else []
    return {
        "scale": scales[:8],
        "zero_point": zeros[:8],
        "channels": max(len(scales), len(zeros)),
        "quantized_dimension": q.QuantizedDimension(),
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
    f_opcode, f_inputs, f_outputs, f_kind, pos = _slots(data, table, 5)
    idx = _U32(data, f_opcode)[0] if f_opcode else 0
    if idx >= len(opcodes):
        raise ModelFormatError(f"{label}: operator {s}:{i} names opcode {idx}, which is missing")
    name, custom = opcodes[idx]
    inputs = [tensors[t] for t in _int_vector(data, f_inputs) if t >= 0]
    outputs = [tensors[t] for t in _int_vector(data, f_outputs) if t >= 0]
    kind = data[f_kind] if f_kind else 0
    options = _options(data, pos + _U32(data, pos)[0], kind) if pos and kind else {}
    _add_kernel(name, inputs, options)
    if name == TRANSPOSE_CONV_CUSTOM and inputs and outputs and len(inputs[0].shape) == 4:
        stride = outputs[0].shape[1] // max(inputs[0].shape[1], 1)
        options["stride_h"] = options["stride_w"] = stride
    node = Node(s, i, name, inputs, outputs, options, custom)
    costs = op_costs(name, inputs, outputs, options)
    node.macs = costs.macs
    node.flops = costs.flops
    node.bytes_activations_read = sum(t.nbytes for t in inputs if not t.is_constant)
    node.bytes_weights_read = sum(t.nbytes for t in inputs if t.is_constant)
    node.bytes_written = sum(t.nbytes for t in outputs)
    node.params = sum(t.numel for t in inputs if t.is_constant)
    if custom is not None:
        node.role = "custom"
    elif name in WEIGHT_PREP_OPS and inputs and all(t.is_constant for t in inputs):
        node.role = "weight_prep"
    return node


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


def _add_kernel(name: str, inputs: list[Tensor], options: dict[str, Any]) -> None:
    """Put the kernel size where a reader expects it; TFLite keeps it in the filter's shape."""
    if name in ("CONV_2D", "DEPTHWISE_CONV_2D") and len(inputs) > 1 and len(inputs[1].shape) == 4:
        options["kernel_h"], options["kernel_w"] = inputs[1].shape[1], inputs[1].shape[2]
    elif name == "TRANSPOSE_CONV" and len(inputs) > 1 and len(inputs[1].shape) == 4:
        options["kernel_h"], options["kernel_w"] = inputs[1].shape[1], inputs[1].shape[2]
    elif name == TRANSPOSE_CONV_CUSTOM and len(inputs) > 1 and len(inputs[1].shape) == 4:
        # MediaPipe keeps stride and padding in opaque custom options; the shapes tell the stride
        options["kernel_h"], options["kernel_w"] = inputs[1].shape[1], inputs[1].shape[2]
    elif "filter_height" in options:
        options["kernel_h"], options["kernel_w"] = options["filter_height"], options["filter_width"]


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
        vtable = pos - _I32(data, pos)[0]
        vsize, tsize = _U16(data, vtable)[0], _U16(data, vtable + 2)[0]
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


def _ints(obj: Any, field_name: str) -> list[int]:
    if not getattr(obj, field_name + "Length")():
        return []
    return [int(x) for x in getattr(obj, field_name + "AsNumpy")()]


def _str(value: bytes | None) -> str:
    return value.decode("utf-8", "replace") if value else ""
