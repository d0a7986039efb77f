"""Node and Tensor objects of one decoded file, made from the column reader's arrays when
per-node results are first asked for (:attr:`~.nodes.ModelGraph.nodes`).

Shapes, types, sizes, roles, costs and the kernel and stride facts come from the columns, so
objects and columns can never disagree; what only objects carry is read here from the file
one table at a time (:mod:`.flatbuffers`): names, every builtin option (decoded by the schema
tables' names and defaults), quantization and the values of small integer constants.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from . import flatbuffers as fb
from .columns import Decoded, ModelColumns
from .nodes import Node, Subgraph, Tensor
from .schema_tables import ACTIVATIONS, BUILTIN_OPTIONS, PADDINGS, TABLES, TENSOR_TYPES

_INT_VALUES = {"INT32": "i", "INT64": "q"}
_VALUE_BYTES = 512  # contents kept of integer constants up to this size (axes, shapes, indices)


def subgraphs(d: Decoded, data: bytes) -> list[Subgraph]:
    """The file's subgraphs (names, inputs and outputs read from their tables)."""
    out = []
    counts = np.bincount(d.columns.subgraph, minlength=len(d.subgraphs)).tolist()
    for s, table in enumerate(d.subgraphs.tolist()):
        f_in, f_out, f_name = fb.named(data, table, "SubGraph", "inputs", "outputs", "name")
        name = fb.string(data, f_name) or ("main" if s == 0 else f"subgraph_{s}")
        out.append(Subgraph(s, name, fb.int32s(data, f_in), fb.int32s(data, f_out), counts[s]))
    return out


def tensors(d: Decoded, data: bytes) -> list[Tensor]:
    """Every tensor of the file, subgraph after subgraph (``index`` counts within one)."""
    t = d.tensors
    starts = d.heads[0].buffer_start.tolist()
    shapes = [row[:r] for row, r in zip(t.dims.tolist(), t.rank.tolist(), strict=True)]
    sig = t.signature
    sig_values, sig_start, sig_count = sig.tensor.tolist(), sig.start.tolist(), sig.count.tolist()
    out = []
    for k, (shape, code, const, size, stored, numel, buf) in enumerate(
        zip(
            shapes,
            t.dtype.tolist(),
            d.const.tolist(),
            t.nbytes.tolist(),
            np.where(t.stored, t.nbytes, 0).tolist(),
            t.numel.tolist(),
            t.buffer.tolist(),
            strict=True,
        )
    ):
        dtype = TENSOR_TYPES[code] if code < len(TENSOR_TYPES) else f"TYPE_{code}"
        value = None
        if stored and dtype in _INT_VALUES and stored <= _VALUE_BYTES:
            n = stored // (4 if dtype == "INT32" else 8)
            value = struct.unpack_from(f"<{n}{_INT_VALUES[dtype]}", data, starts[buf])
        if t.has_signature[k]:
            signature = sig_values[sig_start[k] : sig_start[k] + sig_count[k]]
        else:
            signature = list(shape)
        quant = int(t.quantization[k])
        out.append(
            Tensor(
                index=int(d.tensor_index[k]),
                name=fb.string(data, int(t.name[k])),
                shape=shape,
                shape_signature=signature,
                dtype=dtype,
                is_constant=const,
                nbytes=size,
                quantization=_quantization(data, quant) if quant else None,
                sparse=bool(t.sparse[k]),
                numel=numel,
                value=value,
            )
        )
    return out


def nodes(d: Decoded, data: bytes, tensors: list[Tensor]) -> list[Node]:
    """Every operator of the file, subgraph after subgraph, on these tensors."""
    c = d.columns
    a = c.attrs
    ins, outs = d.inputs, d.outputs
    in_t, in_start, in_count = ins.tensor.tolist(), ins.start.tolist(), ins.count.tolist()
    out_t, out_start, out_count = outs.tensor.tolist(), outs.start.tolist(), outs.count.tolist()
    kind, table = (x.tolist() for x in d.options)
    kernel_h, kernel_w, stride = a.kernel_h.tolist(), a.kernel_w.tolist(), a.stride.tolist()
    from_shapes = a.stride_from_shapes.tolist()
    subgraph, index = c.subgraph.tolist(), d.node_index.tolist()
    op, role = c.op.tolist(), c.role.tolist()
    out = []
    for i in range(len(op)):
        options = _options(data, table[i], kind[i]) if table[i] and kind[i] else {}
        if kernel_h[i] >= 0:  # where a reader expects it; TFLite keeps it in the filter's shape
            options["kernel_h"], options["kernel_w"] = kernel_h[i], kernel_w[i]
        if from_shapes[i]:  # MediaPipe keeps it in opaque custom options; the shapes tell it
            options["stride_h"] = options["stride_w"] = stride[i]
        name = op[i]
        out.append(
            Node(
                subgraph[i],
                index[i],
                name,
                [tensors[k] for k in in_t[in_start[i] : in_start[i] + in_count[i]]],
                [tensors[k] for k in out_t[out_start[i] : out_start[i] + out_count[i]]],
                options,
                name[7:] if d.custom[i] else None,
                role=role[i],
            )
        )
    set_costs(out, c)
    return out


def set_costs(nodes: list[Node], c: ModelColumns) -> None:
    """Each node's cost facts, from the columns (whole numbers held as floats)."""
    k = c.costs
    for node, macs, flops, b_in, b_w, b_out, params in zip(
        nodes,
        *(x.astype(np.int64).tolist() for x in (k.macs, k.flops, k.b_in, k.b_w, k.b_out, k.params)),
        strict=True,
    ):
        node.macs, node.flops, node.params = macs, flops, params
        node.bytes_activations_read, node.bytes_weights_read, node.bytes_written = b_in, b_w, b_out


def _quantization(data: bytes, pos: int) -> dict[str, Any] | None:
    """The first scales and zero points (at most 8) and how many there are, or None when
    the parameters carry neither."""
    q = fb.deref(data, pos)
    f_scale, f_zero, f_dim = fb.named(
        data, q, "QuantizationParameters", "scale", "zero_point", "quantized_dimension"
    )
    n_scale, n_zero = fb.length(data, f_scale), fb.length(data, f_zero)
    if not n_scale and not n_zero:
        return None
    return {
        "scale": [float(x) for x in fb.numbers(data, f_scale, "f", 8)],
        "zero_point": [int(x) for x in fb.numbers(data, f_zero, "q", 8)],
        "channels": max(n_scale, n_zero),
        "quantized_dimension": fb.i32(data, f_dim) if f_dim else 0,
    }


def _options(data: bytes, pos: int, code: int) -> dict[str, Any]:
    """An operator's builtin options (its table at ``pos``) by name, enums by their names."""
    kind = BUILTIN_OPTIONS[code] if code < len(BUILTIN_OPTIONS) else ""
    if kind not in TABLES:
        return {}
    out = fb.values(data, pos, kind)
    for key, names in (("padding", PADDINGS), ("fused_activation_function", ACTIVATIONS)):
        v = out.get(key)
        if isinstance(v, int) and 0 <= v < len(names):
            out[key] = names[v]
    return out
