"""Every node of a model as arrays, read from the flatbuffer with numpy: the fast path of
prediction, where an architecture search asks for thousands of models a second.

The object reader (:mod:`.reader`) builds a Python object per tensor and node and decodes
every option; this reader computes, for all nodes at once, only what features, prediction and
composition read: the feature table (:data:`~leti.estimator.features.TABLE_KEYS`), op kinds,
roles and the composition's per-node facts. Models it does not handle (dynamic shapes that
need propagation, unknown schema versions, damaged files) come back as :class:`Unsupported`
and take the object path; ``tests/test_columns.py`` holds the two readers to identical
results.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..ops import PAD_MERGING_OPS, WEIGHT_PREP_OPS
from .coded import Coded
from .column_heads import Head, Unsupported, read_head
from .column_table import MAX_RANK, Tensors, node_table
from .dtypes import DTYPE_SIZES
from .flatarrays import FlatArrays, within
from .schema_tables import BUILTIN_OPERATORS, BUILTIN_OPTIONS, TENSOR_TYPES

if TYPE_CHECKING:
    from .nodes import ModelGraph

_SIZE = np.array([DTYPE_SIZES.get(t, 4) for t in TENSOR_TYPES], float)
_INTS = np.array([t in ("INT32", "INT64") for t in TENSOR_TYPES])
_QUANT = np.array([t in ("INT8", "UINT8", "INT16") for t in TENSOR_TYPES])
# option table -> field numbers of (padding, stride_h, fused activation, dilation_h,
# filter_height, filter_width, keep_num_dims); -1: the table has no such field
_FIELDS = {
    "Conv2DOptions": (0, 2, 3, 5, -1, -1, -1),
    "DepthwiseConv2DOptions": (0, 2, 4, 6, -1, -1, -1),
    "Pool2DOptions": (0, 2, 5, -1, 4, 3, -1),
    "TransposeConvOptions": (0, 2, 3, -1, -1, -1, -1),
    "FullyConnectedOptions": (-1, -1, 0, -1, -1, -1, 2),
    "AddOptions": (-1, -1, 0, -1, -1, -1, -1),
    "SubOptions": (-1, -1, 0, -1, -1, -1, -1),
    "MulOptions": (-1, -1, 0, -1, -1, -1, -1),
    "DivOptions": (-1, -1, 0, -1, -1, -1, -1),
    "ConcatenationOptions": (-1, -1, 1, -1, -1, -1, -1),
    "L2NormOptions": (-1, -1, 0, -1, -1, -1, -1),
}


@dataclass
class ModelColumns:
    """One model's nodes as arrays (see the module docstring)."""

    kind: np.ndarray  # object: the op kind ("CONV_2D", "CONV_2D:INT8", "CUSTOM:...")
    op: np.ndarray  # object: the op type
    role: np.ndarray  # object: compute | weight_prep | merged | shape | custom
    subgraph: np.ndarray
    table: dict[str, np.ndarray]  # the feature table
    cout: np.ndarray  # output channels (last dimension of the first output)
    producer: np.ndarray  # the node whose output is the first activation input, -1: none
    single_reader: np.ndarray  # bool: that input has no other reader


def read_columns(data: bytes) -> ModelColumns:
    """The columns of a .tflite model; raises :class:`Unsupported` for models the object
    reader must take (dynamic shapes, several schema versions, damaged files)."""
    return _slices(*_gather(FlatArrays.of(data), [read_head(data)]), 1)[0]


def with_columns(graph: ModelGraph, data: bytes) -> ModelGraph:
    """The graph, with its columns read from its file (a few ms beside the object reader's
    parse), so predicting parsed graphs walks no nodes; left empty where the file needs
    shape propagation or is the column reader's to refuse."""
    got = _alone(data)
    if not isinstance(got, Unsupported):
        graph.columns = got
    return graph


def read_many(models: list[bytes]) -> list[ModelColumns | Unsupported]:
    """The columns of each model, or why the object reader must take it. The files' metadata
    is read as one (see :mod:`.flatarrays`): every step — fields of every table, roles,
    shapes, FLOPs and bytes of every node — is one numpy call for all of them, so a thousand
    small models cost little more than one large one. A file the batch cannot take is read
    on its own, for its reason."""
    out: list[ModelColumns | Unsupported | None] = [None] * len(models)
    heads: list[Head] = []
    ok: list[int] = []
    for i, data in enumerate(models):
        try:
            heads.append(read_head(data))
            ok.append(i)
        except Unsupported as exc:
            out[i] = exc
    while ok:
        try:
            b = FlatArrays.joined([models[i] for i in ok], [h.holes for h in heads])
            got = _slices(*_gather(b, heads), len(ok))
        except _Bad as bad:  # those files alone, for their reasons; the others again
            for k in bad.files:
                out[ok[k]] = _alone(models[ok[k]])
            keep = np.setdiff1d(np.arange(len(ok)), bad.files).tolist()
            ok, heads = [ok[k] for k in keep], [heads[k] for k in keep]
            continue
        except (IndexError, ValueError, OverflowError):  # a damaged file: each on its own
            for i in ok:
                out[i] = _alone(models[i])
            break
        for i, c in zip(ok, got, strict=True):
            out[i] = c
        break
    return [c for c in out if c is not None]


def _alone(data: bytes) -> ModelColumns | Unsupported:
    try:
        return read_columns(data)
    except Unsupported as exc:
        return exc
    except (IndexError, ValueError, OverflowError) as exc:
        return Unsupported(f"damaged: {exc}")


class _Bad(Exception):
    """Files of a batch that this reader does not take (each is then read alone)."""

    def __init__(self, files: np.ndarray) -> None:
        super().__init__(f"{len(files)} files")
        self.files = files


def _slices(c: ModelColumns, file: np.ndarray, files: int) -> list[ModelColumns]:
    """Each file's columns (``file``: whose each node is; a file's nodes are together)."""
    sizes = np.bincount(file, minlength=files)
    ends = np.cumsum(sizes)
    return [_slice(c, int(e - n), int(e)) for e, n in zip(ends, sizes, strict=True)]


def _slice(c: ModelColumns, start: int, end: int) -> ModelColumns:
    producer = c.producer[start:end]
    return ModelColumns(
        kind=c.kind[start:end], op=c.op[start:end], role=c.role[start:end],
        subgraph=c.subgraph[start:end], table={k: v[start:end] for k, v in c.table.items()},
        cout=c.cout[start:end], producer=np.where(producer >= 0, producer - start, -1),
        single_reader=c.single_reader[start:end],
    )  # fmt: skip


def _opcodes(b: FlatArrays, at: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every file's op names and custom flags, flattened, and how many each file has."""
    tables, count = b.tables(at)
    f = b.fields(tables, 4)
    dep = b.scalar(f[:, 0], 1, 0)
    code = np.maximum(b.scalar(f[:, 3], 4, 0), np.where(dep < 128, dep, 0))
    names = np.array([BUILTIN_OPERATORS[c] if c < len(BUILTIN_OPERATORS) else f"UNKNOWN_{c}"
                      for c in code.tolist()], dtype=object)  # fmt: skip
    for i in np.flatnonzero(names == "CUSTOM").tolist():
        start, n = b.vectors(f[i : i + 1, 1])
        text = b.u8_at(start[0] + np.arange(n[0])).tobytes().decode("utf-8", "replace")
        names[i] = f"CUSTOM:{text or 'unnamed'}"
    custom = np.array([n.startswith("CUSTOM:") for n in names.tolist()], bool)
    return names, custom, count


def _gather(b: FlatArrays, heads: list[Head]) -> tuple[ModelColumns, np.ndarray]:
    """Every file's subgraphs and nodes as one set of arrays."""
    files = len(heads)
    bad = np.zeros(files, bool)

    def check(file_of_bad: np.ndarray, reason: str) -> None:
        if len(file_of_bad):
            if files == 1:
                raise Unsupported(reason)
            bad[file_of_bad] = True

    def at(local: list[int]) -> np.ndarray:
        pos = np.array(local, np.int64)
        return np.where(pos > 0, b.bases + pos, 0)

    names, customs, n_codes = _opcodes(b, at([h.codes for h in heads]))
    code_off = np.cumsum(n_codes) - n_codes
    sgs, n_sg = b.tables(at([h.subgraphs for h in heads]))
    check(np.flatnonzero(n_sg == 0), "no subgraphs")
    sg_file = np.repeat(np.arange(files), n_sg)
    sg_index = within(n_sg)
    fs, fs_at = b.fields_at(sgs, (0, 2, 3))  # tensors, outputs, operators
    check(sg_file[b.file_of(sgs) != sg_file], "damaged: subgraph outside its file")
    tensors, n_t = b.tables(fs[:, 0], fs_at[:, 0])
    t_sg = np.repeat(np.arange(len(sgs)), n_t)
    t_off = np.cumsum(n_t) - n_t
    t_file = sg_file[t_sg]
    check(t_file[b.file_of(tensors) != t_file], "damaged: tensor outside its file")
    n_buf = np.array([len(h.buffer_size) for h in heads], np.int64)
    t = _tensors(b, tensors, t_file, np.concatenate([h.buffer_size for h in heads]), n_buf,
                 check)  # fmt: skip
    ops, n_ops = b.tables(fs[:, 2], fs_at[:, 2])
    op_sg = np.repeat(np.arange(len(sgs)), n_ops)
    op_file = sg_file[op_sg]
    check(op_file[b.file_of(ops) != op_file], "damaged: operator outside its file")
    n = len(ops)
    f, f_at = b.fields_at(ops, range(5))
    code = b.scalar(f[:, 0], 4, 0, f_at[:, 0])
    check(op_file[(code < 0) | (code >= n_codes[op_file])], "missing opcode")
    code = np.clip(code, 0, np.maximum(n_codes[op_file] - 1, 0)) + code_off[op_file]
    op = names[code] if len(names) else np.full(n, "", dtype=object)
    custom = customs[code] if len(names) else np.zeros(n, bool)
    ins, in_len = b.ragged(f[:, 1], f_at[:, 1])
    outs, out_len = b.ragged(f[:, 2], f_at[:, 2])
    keep = ins >= 0  # -1: an absent optional input, dropped as the object reader does
    in_node = np.repeat(np.arange(n), in_len)[keep]
    ins = ins[keep]
    in_len = np.bincount(in_node, minlength=n)
    out_node = np.repeat(np.arange(n), out_len)
    past_in = ins >= n_t[op_sg[in_node]]
    past_out = (outs < 0) | (outs >= n_t[op_sg[out_node]])
    check(op_file[np.concatenate([in_node[past_in], out_node[past_out]])],
          "missing tensor")  # fmt: skip
    ops_coded = Coded.of(op)
    check(np.concatenate([t_file[t.dynamic], op_file[ops_coded.eq("SHAPE")]]),
          "shapes computed at run time: shape propagation needed")  # fmt: skip
    if bad.any():
        raise _Bad(np.flatnonzero(bad))
    ins, outs = ins + t_off[op_sg[in_node]], outs + t_off[op_sg[out_node]]
    opts = _options(b, b.scalar(f[:, 3], 1, 0, f_at[:, 3]), f[:, 4], f_at[:, 4])
    sub_out, n_sub_out = b.ragged(fs[:, 1], fs_at[:, 1])
    sub_outputs = set((sub_out + np.repeat(t_off, n_sub_out)).tolist())
    return _assemble(t, ops_coded, op, custom, ins, in_node, in_len, outs, out_node, out_len, opts,
                     sub_outputs, sg_index[op_sg]), op_file  # fmt: skip


def _assemble(t: Tensors, ops: Coded, op: np.ndarray, custom: np.ndarray, ins: np.ndarray,
              in_node: np.ndarray, in_len: np.ndarray, outs: np.ndarray, out_node: np.ndarray,
              out_len: np.ndarray, opts: dict[str, np.ndarray], sub_outputs: set[int],
              subgraph: np.ndarray) -> ModelColumns:  # fmt: skip
    """Roles, the feature table and the composition's facts of every node of every file."""
    n = len(op)
    in_pos = within(in_len)
    const = t.const.copy()
    role = np.full(n, "compute", dtype=object)
    role[custom] = "custom"
    starts = np.cumsum(in_len) - in_len
    out_starts = np.cumsum(out_len) - out_len
    for p in np.flatnonzero(ops.isin(WEIGHT_PREP_OPS) & ~custom & (in_len > 0)):
        # in operator order: what one prepares, the next may prepare further (DENSIFY, then
        # DEQUANTIZE); once prepared, outputs are weights to their consumers
        if const[ins[starts[p] : starts[p] + in_len[p]]].all():
            role[p] = "weight_prep"
            const[outs[out_starts[p] : out_starts[p] + out_len[p]]] = True
    tiny_int = _INTS[t.dtype] & (t.numel <= 64)
    shape = (out_len > 0) & (np.bincount(in_node, ~tiny_int[ins], minlength=n) == 0) & (
        np.bincount(out_node, ~tiny_int[outs], minlength=n) == 0) & (role == "compute")  # fmt: skip
    role[shape] = "shape"
    first = _nth(ins, in_node, in_pos, n, 0)
    second = _nth(ins, in_node, in_pos, n, 1)
    third = _nth(ins, in_node, in_pos, n, 2)
    out0 = _nth(outs, out_node, np.arange(len(outs)) - np.repeat(out_starts, out_len), n, 0)
    acts = ~const[ins]
    act_node = in_node[acts]
    act_len = np.bincount(act_node, minlength=n)
    act_pos = within(act_len)
    a0 = _nth(ins[acts], act_node, act_pos, n, 0)
    a1 = _nth(ins[acts], act_node, act_pos, n, 1)
    _mark_merged_pads(role, ops, op, ins, in_node, in_pos, out_len, outs, first, second, out0, t,
                      const, sub_outputs)  # fmt: skip
    table = node_table(ops, custom, t, const, ins, in_node, outs, out_node, in_len, first, second,
                   third, out0, a0, a1, opts, n)  # fmt: skip
    kind = op.copy()
    quant = (a0 >= 0) & _QUANT[t.dtype[np.maximum(a0, 0)]] & ~custom & ~ops.isin(
        ["QUANTIZE", "DEQUANTIZE"])  # fmt: skip
    kind[quant] = [f"{o}:INT8" for o in op[quant]]
    readers = np.bincount(ins, minlength=t.count)
    producer_of = np.full(t.count, -1)
    producer_of[outs] = out_node
    return ModelColumns(
        kind=kind, op=op, role=role, subgraph=subgraph, table=table,
        cout=np.where(out0 >= 0, t.last[np.maximum(out0, 0)], 0).astype(float),
        producer=np.where(a0 >= 0, producer_of[np.maximum(a0, 0)], -1),
        single_reader=(a0 >= 0) & (readers[np.maximum(a0, 0)] == 1),
    )  # fmt: skip


def _tensors(b: FlatArrays, tables: np.ndarray, file: np.ndarray, buffer_size: np.ndarray,
             n_buf: np.ndarray, check: Callable[[np.ndarray, str], None]) -> Tensors:  # fmt: skip
    """Every tensor of every file; ``buffer_size``: all files' buffers, ``n_buf`` a file."""
    count = len(tables)
    f, f_at = b.fields_at(tables, (0, 1, 2, 7))  # shape, type, buffer, shape_signature
    flat, rank = b.ragged(f[:, 0], f_at[:, 0])
    check(file[rank > MAX_RANK], "rank")
    owner = np.repeat(np.arange(count), rank)
    axis = within(rank)
    dims = np.ones((count, MAX_RANK), np.int64)
    fits = axis < MAX_RANK  # a file with more dimensions is read alone, and refused
    dims[owner[fits], axis[fits]] = flat[fits]
    rank = np.minimum(rank, MAX_RANK)
    sig, sig_len = b.ragged(f[:, 3], f_at[:, 3])
    sig_within = within(sig_len)
    sig_owner = np.repeat(np.arange(count), sig_len)
    # unknown beyond the batch dimension (a batch of -1 runs as the stored shape's)
    dynamic = np.bincount(sig_owner, (sig < 0) & (sig_within > 0), minlength=count) > 0
    dynamic |= np.bincount(owner, flat < 0, minlength=count) > 0
    dtype = b.scalar(f[:, 1], 1, 0, f_at[:, 1])
    check(file[dtype >= len(TENSOR_TYPES)], "tensor type")
    dtype = np.minimum(dtype, len(TENSOR_TYPES) - 1)
    buf = b.scalar(f[:, 2], 4, 0, f_at[:, 2])
    has = (buf > 0) & (buf < n_buf[file])
    first = np.cumsum(n_buf) - n_buf
    stored = np.where(has, buffer_size[np.where(has, first[file] + buf, 0)]
                      if len(buffer_size) else 0, 0)  # fmt: skip
    numel = np.prod(np.maximum(dims, 1), axis=1)
    nbytes = np.where(stored > 0, stored, np.ceil(numel * _SIZE[dtype]))
    last = np.where(rank > 0, dims[np.arange(count), np.maximum(rank - 1, 0)], 0)
    return Tensors(count, dims, rank, dtype, numel, nbytes.astype(np.int64), stored > 0,
                    dynamic, last)  # fmt: skip


def _nth(values: np.ndarray, node: np.ndarray, pos: np.ndarray, n: int, k: int) -> np.ndarray:
    """Per node, its k-th entry of a ragged list (-1 when it has none)."""
    out = np.full(n, -1)
    pick = pos == k
    out[node[pick]] = values[pick]
    return out


def _options(b: FlatArrays, kind: np.ndarray, table: np.ndarray,
             table_at: np.ndarray) -> dict[str, np.ndarray]:  # fmt: skip
    n = len(kind)
    out = {
        "padding": np.full(n, -1), "stride_h": np.full(n, -1), "act": np.zeros(n, int),
        "dilation_h": np.full(n, -1), "filter_h": np.full(n, -1), "filter_w": np.full(n, -1),
        "keep": np.zeros(n, int),
    }  # fmt: skip
    pos = np.where(table > 0, b.deref(table, table_at), 0)
    for code in sorted(set(kind[table > 0].tolist())):  # np.unique would import numpy.ma
        name = BUILTIN_OPTIONS[code] if code < len(BUILTIN_OPTIONS) else ""
        fields = _FIELDS.get(name)
        if fields is None:
            continue
        rows = np.flatnonzero((kind == code) & (table > 0))
        which = [x for x in fields if x >= 0]
        f, f_at = b.fields_at(pos[rows], which)
        for key, field, size in zip(("padding", "stride_h", "act", "dilation_h", "filter_h",
                                     "filter_w", "keep"), fields, (1, 4, 1, 4, 4, 4, 1),
                                    strict=True):  # fmt: skip
            if field >= 0:
                default = 1 if key in ("dilation_h",) else 0
                j = which.index(field)
                out[key][rows] = b.scalar(f[:, j], size, default, f_at[:, j])
    return out


def _mark_merged_pads(role, ops, op, ins, in_node, in_pos, out_len, outs, first, second, out0, t,
                      const, sub_outputs) -> None:  # fmt: skip
    """A spatial-only zero PAD whose one consumer is a convolution's input (see reader)."""
    pads = np.flatnonzero(ops.eq("PAD") & (role == "compute"))
    if not len(pads):
        return
    for p in pads:
        x, paddings, y = first[p], second[p], out0[p]
        if paddings < 0 or out_len[p] != 1 or not const[paddings]:
            continue
        if t.rank[x] != 4 or t.rank[y] != 4:
            continue
        if t.dims[x, 0] != t.dims[y, 0] or t.dims[x, 3] != t.dims[y, 3] or y in sub_outputs:
            continue
        users = np.flatnonzero(ins == y)
        if len(users) == 1 and op[in_node[users[0]]] in PAD_MERGING_OPS and in_pos[users[0]] == 0:
            role[p] = "merged"
