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

from dataclasses import dataclass

import numpy as np

from ..ops import PAD_MERGING_OPS, WEIGHT_PREP_OPS
from .column_table import MAX_RANK, Tensors, node_table
from .dtypes import DTYPE_SIZES
from .flatarrays import FlatArrays
from .schema_tables import BUILTIN_OPERATORS, BUILTIN_OPTIONS, TENSOR_TYPES

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
_SIZES = {"stride_h": 4, "dilation_h": 4, "filter_h": 4, "filter_w": 4}


class Unsupported(Exception):
    """A model this reader leaves to the object reader."""


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
    (out,) = read_many([data])
    if isinstance(out, Unsupported):
        raise out
    return out


def read_many(models: list[bytes]) -> list[ModelColumns | Unsupported]:
    """The columns of each model, or why the object reader must take it. Each file is read
    on its own; what follows — roles, shapes, FLOPs and bytes of every node — is computed for
    all of them at once, so a thousand small models cost little more than one large one."""
    parts: list[_Part] = []
    counts: list[int | Unsupported] = []
    for data in models:
        try:
            got = _gather(FlatArrays(data))
        except Unsupported as exc:
            counts.append(exc)
            continue
        except (IndexError, ValueError, OverflowError) as exc:
            counts.append(Unsupported(str(exc)))
            continue
        parts += got
        counts.append(sum(p.n for p in got))
    whole = _assemble(parts) if parts else None
    out: list[ModelColumns | Unsupported] = []
    start = 0
    for c in counts:
        if isinstance(c, Unsupported):
            out.append(c)
            continue
        assert whole is not None
        out.append(_slice(whole, start, start + c))
        start += c
    return out


def _slice(c: ModelColumns, start: int, end: int) -> ModelColumns:
    producer = c.producer[start:end]
    return ModelColumns(
        kind=c.kind[start:end], op=c.op[start:end], role=c.role[start:end],
        subgraph=c.subgraph[start:end], table={k: v[start:end] for k, v in c.table.items()},
        cout=c.cout[start:end], producer=np.where(producer >= 0, producer - start, -1),
        single_reader=c.single_reader[start:end],
    )  # fmt: skip


def _gather(b: FlatArrays) -> list[_Part]:
    """One file's subgraphs as raw arrays (everything that reads the file's bytes)."""
    if b.n < 8 or bytes(b.u8[4:8]) != b"TFL3":
        raise Unsupported("not a TFLite model")
    root = np.array([b.u32[0]], np.int64)
    f_version, f_codes, f_subgraphs, _, f_buffers = b.fields(root, 5)[0]
    if not f_version or b.u32[f_version >> 2] != 3:
        raise Unsupported("schema version")
    buffer_size = _buffer_sizes(b, int(f_buffers))
    names, customs = _opcodes(b, int(f_codes))
    parts = [_subgraph(b, sg, s, buffer_size, names, customs)
             for s, sg in enumerate(b.tables(int(f_subgraphs)))]  # fmt: skip
    if not parts:
        raise Unsupported("no subgraphs")
    return parts


def _buffer_sizes(b: FlatArrays, f_buffers: int) -> np.ndarray:
    tables = b.tables(f_buffers)
    if not len(tables):
        return np.zeros(0, np.int64)
    f = b.fields(tables, 3)
    if (f[:, 1] > 0).any():  # weights kept after the flatbuffer (offset/size): object reader
        raise Unsupported("external buffers")
    start, size = b.vectors(f[:, 0])
    if int((start + size).max(initial=0)) > b.n:
        raise Unsupported("truncated")
    return size


def _opcodes(b: FlatArrays, f_codes: int) -> tuple[list[str], list[bool]]:
    tables = b.tables(f_codes)
    if not len(tables):
        return [], []
    f = b.fields(tables, 4)
    dep = b.scalar(f[:, 0], 1, 0)
    code = np.maximum(b.scalar(f[:, 3], 4, 0), np.where(dep < 128, dep, 0))
    names = [BUILTIN_OPERATORS[c] if c < len(BUILTIN_OPERATORS) else f"UNKNOWN_{c}"
             for c in code.tolist()]  # fmt: skip
    for i in [i for i, name in enumerate(names) if name == "CUSTOM"]:
        start, n = b.vectors(f[i : i + 1, 1])
        text = bytes(b.u8[start[0] : start[0] + n[0]]).decode("utf-8", "replace")
        names[i] = f"CUSTOM:{text or 'unnamed'}"
    return names, [name.startswith("CUSTOM:") for name in names]


@dataclass
class _Part:
    """One subgraph as read from its file; indices are the subgraph's own."""

    s: int
    n: int
    t: Tensors
    op: np.ndarray
    custom: np.ndarray
    ins: np.ndarray
    in_node: np.ndarray
    in_len: np.ndarray
    outs: np.ndarray
    out_node: np.ndarray
    out_len: np.ndarray
    opts: dict[str, np.ndarray]
    sub_outputs: np.ndarray


def _subgraph(b: FlatArrays, sg: int, s: int, buffer_size: np.ndarray, names: list[str],
              customs: list[bool]) -> _Part:  # fmt: skip
    f_tensors, _, f_outputs, f_ops, _ = b.fields(np.array([sg]), 5)[0]
    t = _tensors(b, b.tables(int(f_tensors)), buffer_size)
    ops = b.tables(int(f_ops))
    n = len(ops)
    f = b.fields(ops, 5)
    code = b.scalar(f[:, 0], 4, 0)
    if n and code.max() >= len(names):
        raise Unsupported("missing opcode")
    op = np.array(names, dtype=object)[code] if n else np.zeros(0, object)
    custom = np.array(customs, bool)[code] if n else np.zeros(0, bool)
    ins, in_len = b.ragged(f[:, 1])
    outs, out_len = b.ragged(f[:, 2])
    keep = ins >= 0  # -1: an absent optional input, dropped as the object reader does
    in_node = np.repeat(np.arange(n), in_len)[keep]
    ins = ins[keep]
    in_len = np.bincount(in_node, minlength=n)
    out_node = np.repeat(np.arange(n), out_len)
    if (ins.size and ins.max() >= t.count) or (outs.size and outs.max() >= t.count):
        raise Unsupported("missing tensor")
    if t.dynamic.any() or (op == "SHAPE").any():
        raise Unsupported("shapes computed at run time: shape propagation needed")
    opts = _options(b, b.scalar(f[:, 3], 1, 0), f[:, 4])
    sub_outputs = b.ragged(np.array([f_outputs]))[0] if f_outputs else np.zeros(0, np.int64)
    return _Part(s, n, t, op, custom, ins, in_node, in_len, outs, out_node, out_len, opts,
                 sub_outputs)  # fmt: skip


def _assemble(parts: list[_Part]) -> ModelColumns:
    """The columns of many subgraphs at once: tensor and node indices shifted to one range."""
    toff = np.cumsum([0] + [p.t.count for p in parts[:-1]])
    noff = np.cumsum([0] + [p.n for p in parts[:-1]])
    n = int(sum(p.n for p in parts))

    def cat(get, shift=None):  # noqa: ANN001, ANN202
        if shift is None:
            return np.concatenate([get(p) for p in parts])
        return np.concatenate([get(p) + shift[i] for i, p in enumerate(parts)])

    t = Tensors(
        count=int(sum(p.t.count for p in parts)),
        dims=np.concatenate([p.t.dims for p in parts]),
        **{k: cat(lambda p, k=k: getattr(p.t, k)) for k in ("rank", "dtype", "numel", "nbytes",
                                                           "const", "dynamic", "last")},
    )  # fmt: skip
    op, custom = cat(lambda p: p.op), cat(lambda p: p.custom)
    ins, outs = cat(lambda p: p.ins, toff), cat(lambda p: p.outs, toff)
    in_node, out_node = cat(lambda p: p.in_node, noff), cat(lambda p: p.out_node, noff)
    in_len, out_len = cat(lambda p: p.in_len), cat(lambda p: p.out_len)
    opts = {k: cat(lambda p, k=k: p.opts[k]) for k in parts[0].opts}
    sub_outputs = set(cat(lambda p: p.sub_outputs, toff).tolist())
    subgraph = np.repeat([p.s for p in parts], [p.n for p in parts])
    in_pos = np.arange(len(ins)) - np.repeat(np.cumsum(in_len) - in_len, in_len)
    const = t.const.copy()
    role = np.full(n, "compute", dtype=object)
    role[custom] = "custom"
    starts = np.cumsum(in_len) - in_len
    out_starts = np.cumsum(out_len) - out_len
    for p in np.flatnonzero(np.isin(op, list(WEIGHT_PREP_OPS)) & ~custom & (in_len > 0)):
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
    act_pos = np.arange(len(act_node)) - np.repeat(np.cumsum(act_len) - act_len, act_len)
    a0 = _nth(ins[acts], act_node, act_pos, n, 0)
    a1 = _nth(ins[acts], act_node, act_pos, n, 1)
    _mark_merged_pads(role, op, ins, in_node, in_pos, out_len, outs, first, second, out0, t,
                      const, sub_outputs)  # fmt: skip
    table = node_table(op, custom, t, const, ins, in_node, outs, out_node, in_len, first, second,
                   third, out0, a0, a1, opts, n)  # fmt: skip
    kind = op.copy()
    quant = (a0 >= 0) & _QUANT[t.dtype[np.maximum(a0, 0)]] & ~custom & ~np.isin(
        op, ["QUANTIZE", "DEQUANTIZE"])  # fmt: skip
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


def _tensors(b: FlatArrays, tables: np.ndarray, buffer_size: np.ndarray) -> Tensors:
    count = len(tables)
    f = b.fields(tables, 8)
    flat, rank = b.ragged(f[:, 0])
    if rank.size and rank.max() > MAX_RANK:
        raise Unsupported("rank")
    owner = np.repeat(np.arange(count), rank)
    within = np.arange(len(flat)) - np.repeat(np.cumsum(rank) - rank, rank)
    dims = np.ones((count, MAX_RANK), np.int64)
    dims[owner, within] = flat
    sig, sig_len = b.ragged(f[:, 7])
    sig_within = np.arange(len(sig)) - np.repeat(np.cumsum(sig_len) - sig_len, sig_len)
    sig_owner = np.repeat(np.arange(count), sig_len)
    # unknown beyond the batch dimension (a batch of -1 runs as the stored shape's)
    dynamic = np.bincount(sig_owner, (sig < 0) & (sig_within > 0), minlength=count) > 0
    dynamic |= np.bincount(owner, flat < 0, minlength=count) > 0
    dtype = b.scalar(f[:, 1], 1, 0)
    if dtype.size and dtype.max() >= len(TENSOR_TYPES):
        raise Unsupported("tensor type")
    buf = b.scalar(f[:, 2], 4, 0)
    stored = np.where((buf > 0) & (buf < len(buffer_size)),
                      buffer_size[np.clip(buf, 0, max(len(buffer_size) - 1, 0))]
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


def _options(b: FlatArrays, kind: np.ndarray, table: np.ndarray) -> dict[str, np.ndarray]:
    n = len(kind)
    out = {
        "padding": np.full(n, -1), "stride_h": np.full(n, -1), "act": np.zeros(n, int),
        "dilation_h": np.full(n, -1), "filter_h": np.full(n, -1), "filter_w": np.full(n, -1),
        "keep": np.zeros(n, int),
    }  # fmt: skip
    pos = np.where(table > 0, b.deref(np.where(table > 0, table, 0)), 0)
    for code in np.unique(kind[table > 0]):
        name = BUILTIN_OPTIONS[code] if code < len(BUILTIN_OPTIONS) else ""
        fields = _FIELDS.get(name)
        if fields is None:
            continue
        rows = np.flatnonzero((kind == code) & (table > 0))
        f = b.fields(pos[rows], max(fields) + 1)
        for key, field, size in zip(("padding", "stride_h", "act", "dilation_h", "filter_h",
                                     "filter_w", "keep"), fields, (1, 4, 1, 4, 4, 4, 1),
                                    strict=True):  # fmt: skip
            if field >= 0:
                default = 1 if key in ("dilation_h",) else 0
                out[key][rows] = b.scalar(f[:, field], size, default)
    return out


def _mark_merged_pads(role, op, ins, in_node, in_pos, out_len, outs, first, second, out0, t,
                      const, sub_outputs) -> None:  # fmt: skip
    """A spatial-only zero PAD whose one consumer is a convolution's input (see reader)."""
    pads = np.flatnonzero((op == "PAD") & (role == "compute"))
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
