"""The TFLite reader's one structural decode: every tensor and operator of a model — of every
model of a batch — as numpy arrays, read from the flatbuffers for all of them at once.

Everything else builds on it: the columns prediction reads (op kinds, roles, costs, the
operand shapes and options the feature table is made of, the composition's per-node facts),
and, when per-node results are asked for, the Node and Tensor objects (:mod:`.objects`),
made from the same arrays. A file whose shapes are computed at run time is decoded the same
way; :func:`~.reader.read_model` then resolves its shapes (:mod:`.propagate`) and recomputes
the shape-dependent columns (:func:`reshaped`). A batch (:func:`read_many`) leaves such files,
and damaged ones, to be read alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..ops import GROUPED_CONV, PAD_MERGING_OPS, TRANSPOSE_CONV_CUSTOM, WEIGHT_PREP_OPS
from . import costs
from .coded import Coded
from .column_heads import Head, Malformed, Unsupported, read_head
from .dtypes import DTYPE_SIZES
from .flatarrays import FlatArrays, within
from .flatbuffers import Truncated, slots
from .schema_tables import BUILTIN_OPERATORS, BUILTIN_OPTIONS, TABLES, TENSOR_TYPES

MIN_RANK = 6  # columns of the dimension arrays; a file with more dimensions gets more
# per tensor type code, and one more entry for codes the schema does not name
_SIZE = np.array([DTYPE_SIZES.get(t, 4) for t in TENSOR_TYPES] + [4], float)
_INTS = np.array([t in ("INT32", "INT64") for t in TENSOR_TYPES] + [False])
_QUANT = np.array([t in ("INT8", "UINT8", "INT16") for t in TENSOR_TYPES] + [False])
# the options fields the columns read, wherever an options table has them
_OPTION_FIELDS = (
    "padding",
    "stride_h",
    "fused_activation_function",
    "dilation_h_factor",
    "filter_height",
    "filter_width",
)
_CONV_LIKE = ("CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV", TRANSPOSE_CONV_CUSTOM)


# --- the bundles -----------------------------------------------------------------------------


@dataclass
class Edges:
    """One list of tensors per node (its inputs, or its outputs), laid end to end."""

    tensor: np.ndarray  # the tensors, node after node
    node: np.ndarray  # whose list each entry is in
    pos: np.ndarray  # its position in that list
    count: np.ndarray  # per node, the list's length
    start: np.ndarray  # per node, where its list starts

    @classmethod
    def of(cls, tensor: np.ndarray, node: np.ndarray, nodes: int) -> Edges:
        count = np.bincount(node, minlength=nodes)
        return cls(tensor, node, within(count), count, np.cumsum(count) - count)

    def nth(self, k: int) -> np.ndarray:
        """Per node, the k-th tensor of its list (-1: the list is shorter)."""
        out = np.full(len(self.count), -1)
        pick = self.pos == k
        out[self.node[pick]] = self.tensor[pick]
        return out

    def where(self, keep: np.ndarray) -> Edges:
        """The entries where ``keep`` holds, in each node's list in order."""
        return Edges.of(self.tensor[keep], self.node[keep], len(self.count))

    def sums(self, values: np.ndarray) -> np.ndarray:
        """Per node, the sum of ``values`` (one per entry)."""
        return np.bincount(self.node, values, minlength=len(self.count))


@dataclass
class Tensors:
    """Every tensor of a file (or of a batch of files)."""

    dims: np.ndarray  # [tensors x rank columns] as stored (-1: unknown), padded with 1
    rank: np.ndarray
    dtype: np.ndarray  # the type code
    numel: np.ndarray  # elements, unknown dimensions counted as 1
    nbytes: np.ndarray
    stored: np.ndarray  # bool: its contents are stored in a buffer
    dynamic: np.ndarray  # bool: a dimension past the batch is unknown
    # the rest of each tensor, for Tensor objects
    buffer: np.ndarray  # its buffer's number (0: none)
    signature: Edges  # the shape_signature vectors, one list per tensor
    has_signature: np.ndarray
    name: np.ndarray  # where its name is (0: none)
    quantization: np.ndarray  # where its quantization table's offset is (0: none)
    sparse: np.ndarray  # bool: it has sparsity parameters

    @property
    def count(self) -> int:
        return len(self.rank)

    def dim(self, tensor: np.ndarray, k: int) -> np.ndarray:
        """Dimension k of each tensor as a float (0 where ``tensor`` is -1)."""
        return np.where(tensor >= 0, self.dims[np.maximum(tensor, 0), k], 0).astype(float)

    def rank_of(self, tensor: np.ndarray) -> np.ndarray:
        return np.where(tensor >= 0, self.rank[np.maximum(tensor, 0)], -1)

    def numel_of(self, tensor: np.ndarray) -> np.ndarray:
        return np.where(tensor >= 0, self.numel[np.maximum(tensor, 0)], 0).astype(float)

    def last_of(self, tensor: np.ndarray) -> np.ndarray:
        """The last dimension of each tensor (0 for a scalar, or where ``tensor`` is -1)."""
        safe = np.maximum(tensor, 0)
        r = self.rank_of(tensor)
        return np.where(r > 0, self.dims[safe, np.maximum(r - 1, 0)], 0)

    def type_index(self, tensor: np.ndarray) -> np.ndarray:
        """Index into the per-type arrays (the last entry: a code the schema does not name)."""
        return np.minimum(self.dtype[tensor], len(TENSOR_TYPES))


@dataclass
class Operands:
    """Per node, the tensors its rules read (-1: none): its first three inputs, its first
    output, and its first two activation (non-constant) inputs."""

    first: np.ndarray
    second: np.ndarray
    third: np.ndarray
    out0: np.ndarray
    a0: np.ndarray
    a1: np.ndarray


@dataclass
class Attrs:
    """Per node, the options prediction reads, as the node's options report them (-1: the
    node has no such option): the kernel comes from the filter's shape for convolutions (the
    file keeps it there), and MediaPipe's transposed convolution's stride from its shapes."""

    kernel_h: np.ndarray
    kernel_w: np.ndarray
    stride: np.ndarray
    dilation: np.ndarray
    padding: np.ndarray  # the Padding code (0 SAME, 1 VALID)
    act: np.ndarray  # the ActivationFunctionType code, 0 (NONE) when absent
    filter_h: np.ndarray
    filter_w: np.ndarray
    stride_from_shapes: np.ndarray  # bool: the stride was computed from the shapes


@dataclass
class Shapes:
    """One operand's shape per node: its first four dimensions as stored (padded with 1), its
    rank (0 where the node has no such operand, as for a scalar) and its element count (the
    product of all its dimensions as stored)."""

    dims: np.ndarray  # [nodes x 4]
    rank: np.ndarray
    elems: np.ndarray

    @classmethod
    def of(cls, t: Tensors, tensor: np.ndarray) -> Shapes:
        safe = np.maximum(tensor, 0)
        dims = t.dims[safe]  # padded with 1 past each tensor's rank: their product is elems
        return cls(dims[:, :4], np.where(tensor >= 0, t.rank[safe], 0), dims.prod(axis=1))

    @classmethod
    def of_lists(cls, shapes: list[list[int]]) -> Shapes:
        """The same from shapes as lists (a node record's)."""
        n = len(shapes)
        dims = np.ones((n, 4), np.int64)
        rank = np.array([len(s) for s in shapes], np.int64)
        elems = np.array([np.prod(s) if s else 1 for s in shapes], np.int64)
        for i, s in enumerate(shapes):
            dims[i, : min(len(s), 4)] = s[:4]
        return cls(dims, rank, elems)


@dataclass
class ModelColumns:
    """One model's nodes (or a batch's) as arrays: what prediction and the feature table read.
    ``table`` is the feature table (:func:`~leti.estimator.features.node_table`), filled by
    the features stage when first asked."""

    kind: np.ndarray  # object: the op kind ("CONV_2D", "CONV_2D:INT8", "CUSTOM:...")
    op: np.ndarray  # object: the op type
    role: np.ndarray  # object: compute | weight_prep | merged | shape | custom
    subgraph: np.ndarray
    costs: costs.Costs
    attrs: Attrs
    inputs: Shapes  # of the first activation input
    outputs: Shapes  # of the first output
    second: Shapes  # of the second activation input
    n_inputs: np.ndarray  # activation inputs
    cout: np.ndarray  # output channels (last dimension of the first output)
    producer: np.ndarray  # the node whose output is the first activation input, -1: none
    single_reader: np.ndarray  # bool: that input has no other reader
    output_read: np.ndarray  # bool: another node reads its first output
    table: dict[str, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.kind)

    def slice(self, start: int, end: int) -> ModelColumns:
        """Nodes ``start:end`` (one model's, in a batch), their producers renumbered."""
        out = _map(self, lambda a: a[start:end])
        out.producer = np.where(out.producer >= 0, out.producer - start, -1)
        return out

    @classmethod
    def empty(cls) -> ModelColumns:
        """No nodes (a batch of no models)."""
        f, i, names = np.zeros(0), np.zeros(0, np.int64), np.zeros(0, dtype=object)
        shapes = Shapes(np.ones((0, 4), np.int64), i, i)
        return cls(
            kind=names,
            op=names,
            role=names,
            subgraph=i,
            costs=costs.Costs(f, f, f, f, f, f),
            attrs=Attrs(i, i, i, i, i, i, i, i, np.zeros(0, bool)),
            inputs=shapes,
            outputs=shapes,
            second=shapes,
            n_inputs=f,
            cout=f,
            producer=i,
            single_reader=np.zeros(0, bool),
            output_read=np.zeros(0, bool),
        )

    @classmethod
    def concat(cls, parts: list[ModelColumns]) -> ModelColumns:
        """The models' nodes one after another, producers renumbered (a table is kept only
        when every part has one)."""
        sizes = np.array([len(p) for p in parts], np.int64)
        offset = np.repeat(np.cumsum(sizes) - sizes, sizes)
        out = _join(parts)
        out.producer = np.where(out.producer >= 0, out.producer + offset, -1)
        return out


def _map(obj: Any, f: Callable[[np.ndarray], np.ndarray]) -> Any:
    """A bundle with ``f`` of each of its arrays (nested bundles and the table too), built
    without ``dataclasses.replace``: a batch slices one per model."""
    out = object.__new__(type(obj))
    for name, v in vars(obj).items():
        if isinstance(v, np.ndarray):
            v = f(v)
        elif isinstance(v, dict):
            v = {k: f(x) for k, x in v.items()}
        elif hasattr(v, "__dataclass_fields__"):
            v = _map(v, f)
        setattr(out, name, v)
    return out


def _join(parts: list[Any]) -> Any:
    """The bundles' arrays concatenated (a table only when every part has one)."""
    out = object.__new__(type(parts[0]))
    for name, v in vars(parts[0]).items():
        vs = [getattr(p, name) for p in parts]
        if isinstance(v, np.ndarray):
            v = np.concatenate(vs)
        elif isinstance(v, dict) or name == "table":
            have = all(x is not None for x in vs)
            v = {k: np.concatenate([x[k] for x in vs]) for k in vs[0]} if have else None
        elif hasattr(v, "__dataclass_fields__"):
            v = _join(vs)
        setattr(out, name, v)
    return out


@dataclass
class Decoded:
    """A file (or a batch of files) decoded: the columns, and what Node and Tensor objects
    and shape propagation are made from."""

    columns: ModelColumns
    tensors: Tensors
    const: np.ndarray  # bool per tensor: a weight (stored, or prepared from weights)
    inputs: Edges  # absent optional inputs (-1) left out, as from Node.inputs
    outputs: Edges
    operands: Operands
    ops: Coded
    custom: np.ndarray  # bool per node
    options: tuple[np.ndarray, np.ndarray]  # per node, its options table's kind and position
    node_file: np.ndarray
    node_index: np.ndarray  # within its subgraph
    tensor_subgraph: np.ndarray  # global subgraph number of each tensor
    tensor_index: np.ndarray  # within its subgraph
    subgraphs: np.ndarray  # positions of the subgraph tables
    subgraph_file: np.ndarray
    needs_propagation: np.ndarray  # bool per file
    heads: list[Head]


# --- reading ---------------------------------------------------------------------------------


def decode(data: bytes) -> Decoded:
    """One file, decoded; raises :class:`~.column_heads.Malformed` or
    :class:`~.flatbuffers.Truncated` (and other errors on corrupt data) for a bad file."""
    return _decode(FlatArrays.of(data), [read_head(data)], batch=False)


def read_columns(data: bytes) -> ModelColumns:
    """The columns of a .tflite model; raises :class:`Unsupported` for a model a batch does
    not take (its shapes need propagation, or it is not a readable model)."""
    got = _alone(data)
    if isinstance(got, Unsupported):
        raise got
    return got


def read_batch(models: list[bytes]) -> tuple[ModelColumns, np.ndarray] | None:
    """Every model's columns as one, model after model, and each model's node count; None
    when the batch does not take every file (then :func:`read_many` says which and why). An
    architecture search's candidates all pass, and their columns are used joined as read:
    cutting them per model only for the batch to join them again costs ~10 % of its rate."""
    if not models:
        return None
    try:
        heads = []
        for data in models:
            _identify(data)
            heads.append(read_head(data))
        d = _decode(FlatArrays.joined(models, [h.holes for h in heads]), heads, batch=True)
    except Exception:  # noqa: BLE001  (read_many reads them again, each for its reason)
        return None
    return d.columns, np.bincount(d.node_file, minlength=len(models))


def read_many(models: list[bytes]) -> list[ModelColumns | Unsupported]:
    """The columns of each model, or why it must be read on its own. The files' metadata is
    read as one (see :mod:`.flatarrays`): every step — fields of every table, roles, shapes,
    FLOPs and bytes of every node — is one numpy call for all of them, so a thousand small
    models cost little more than one large one. A file the batch cannot take is read on its
    own, for its reason."""
    out: list[ModelColumns | Unsupported | None] = [None] * len(models)
    heads: list[Head] = []
    ok: list[int] = []
    for i, data in enumerate(models):
        try:
            _identify(data)
            heads.append(read_head(data))
            ok.append(i)
        except Exception as exc:  # noqa: BLE001  (any error: read_model says what it is)
            out[i] = _unsupported(exc)
    while ok:
        try:
            b = FlatArrays.joined([models[i] for i in ok], [h.holes for h in heads])
            d = _decode(b, heads, batch=True)
        except _Bad as bad:  # those files alone, for their reasons; the others again
            for k in bad.files:
                out[ok[k]] = _alone(models[ok[k]])
            keep = np.setdiff1d(np.arange(len(ok)), bad.files).tolist()
            ok, heads = [ok[k] for k in keep], [heads[k] for k in keep]
            continue
        except Exception:  # noqa: BLE001  (a damaged file: each on its own)
            for i in ok:
                out[i] = _alone(models[i])
            break
        for i, c in zip(ok, _slices(d.columns, d.node_file, len(ok)), strict=True):
            out[i] = c
        break
    return [c for c in out if c is not None]


def _identify(data: bytes) -> None:
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise Unsupported("not a TFLite model")


def _alone(data: bytes) -> ModelColumns | Unsupported:
    try:
        _identify(data)
        d = decode(data)
    except Exception as exc:  # noqa: BLE001
        return _unsupported(exc)
    if d.needs_propagation.any():
        return Unsupported(_PROPAGATE)
    return d.columns


_PROPAGATE = "shapes computed at run time: shape propagation needed"


def _unsupported(exc: Exception) -> Unsupported:
    if isinstance(exc, Unsupported):
        return exc
    if isinstance(exc, Malformed):
        return Unsupported(exc.message)
    if isinstance(exc, Truncated):
        return Unsupported(f"truncated: {exc}")
    return Unsupported(f"damaged: {type(exc).__name__}: {exc}")


class _Bad(Exception):
    """Files of a batch that it does not take (each is then read alone)."""

    def __init__(self, files: np.ndarray) -> None:
        super().__init__(f"{len(files)} files")
        self.files = files


def _slices(c: ModelColumns, file: np.ndarray, files: int) -> list[ModelColumns]:
    """Each file's columns (``file``: whose each node is; a file's nodes are together)."""
    sizes = np.bincount(file, minlength=files)
    ends = np.cumsum(sizes)
    return [c.slice(int(e - n), int(e)) for e, n in zip(ends, sizes, strict=True)]


def _opcodes(b: FlatArrays, at: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every file's op names and custom flags, flattened, and how many each file has."""
    tables, count = b.tables(at)
    f = b.fields(tables, "OperatorCode", ("deprecated_builtin_code", "custom_code", "builtin_code"))
    dep = b.value(f, "deprecated_builtin_code")
    code = np.maximum(b.value(f, "builtin_code"), np.where(dep < 128, dep, 0))
    n = len(BUILTIN_OPERATORS)
    names = np.array(
        [BUILTIN_OPERATORS[c] if 0 <= c < n else f"UNKNOWN_BUILTIN_{c}" for c in code.tolist()],
        dtype=object,
    )
    custom = names == "CUSTOM"
    at_custom = np.flatnonzero(custom)
    for i, text in zip(at_custom.tolist(), b.text(f["custom_code"][0][at_custom]), strict=True):
        names[i] = f"CUSTOM:{text or 'unnamed'}"
    return names, custom, count


def _decode(b: FlatArrays, heads: list[Head], batch: bool) -> Decoded:
    """Every file's subgraphs, tensors and operators as one set of arrays. In a batch, files
    it does not take raise :class:`_Bad` (after every check, so all are found at once); one
    file's problem raises :class:`~.column_heads.Malformed` with the message for it."""
    files = len(heads)
    bad = np.zeros(files, bool)

    def check(file_of_bad: np.ndarray, reason: str) -> None:
        if len(file_of_bad):
            if not batch:
                raise Malformed(reason)
            bad[file_of_bad] = True

    def at(local: list[int]) -> np.ndarray:
        pos = np.array(local, np.int64)
        return np.where(pos > 0, b.bases + pos, 0)

    names, customs, n_codes = _opcodes(b, at([h.codes for h in heads]))
    code_off = np.cumsum(n_codes) - n_codes
    sgs, n_sg = b.tables(at([h.subgraphs for h in heads]))
    sg_file = np.repeat(np.arange(files), n_sg)
    fs = b.fields(sgs, "SubGraph", ("tensors", "outputs", "operators"))
    check(sg_file[b.file_of(sgs) != sg_file], "damaged: subgraph outside its file")
    tensors, n_t = b.tables(*fs["tensors"])
    t_sg = np.repeat(np.arange(len(sgs)), n_t)
    t_off = np.cumsum(n_t) - n_t
    t_file = sg_file[t_sg]
    check(t_file[b.file_of(tensors) != t_file], "damaged: tensor outside its file")
    t = _tensors(b, tensors, t_file, heads)
    ops, n_ops = b.tables(*fs["operators"])
    op_sg = np.repeat(np.arange(len(sgs)), n_ops)
    op_file = sg_file[op_sg]
    op_index = within(n_ops)
    check(op_file[b.file_of(ops) != op_file], "damaged: operator outside its file")
    n = len(ops)
    f = b.fields(
        ops,
        "Operator",
        ("opcode_index", "inputs", "outputs", "builtin_options_type", "builtin_options"),
    )
    code = b.value(f, "opcode_index")
    no_code = (code < 0) | (code >= n_codes[op_file])
    code = np.clip(code, 0, np.maximum(n_codes[op_file] - 1, 0)) + code_off[op_file]
    op = names[code] if len(names) else np.full(n, "", dtype=object)
    custom = customs[code] if len(names) else np.zeros(n, bool)
    ins, in_len = b.ragged(*f["inputs"])
    outs, out_len = b.ragged(*f["outputs"])
    inputs = _edges(ins, in_len, n)  # -1: an absent optional input (an output too) left out
    outputs = _edges(outs, out_len, n)
    no_tensor = np.zeros(n, bool)
    no_tensor[inputs.node[inputs.tensor >= n_t[op_sg[inputs.node]]]] = True
    no_tensor[outputs.node[outputs.tensor >= n_t[op_sg[outputs.node]]]] = True
    if batch:
        check(op_file[no_code | no_tensor], "missing opcode or tensor")
    elif (no_code | no_tensor).any():
        i = int(np.flatnonzero(no_code | no_tensor)[0])
        where = f"operator {int(within(n_sg)[op_sg[i]])}:{int(op_index[i])}"
        if no_code[i]:
            idx = int(b.value(f, "opcode_index")[i]) & 0xFFFFFFFF
            raise Malformed(f"{where} names opcode {idx}, which is missing", None)
        raise Malformed(f"{where} names a missing tensor", None)
    inputs.tensor += t_off[op_sg[inputs.node]]
    outputs.tensor += t_off[op_sg[outputs.node]]
    used = np.zeros(t.count, bool)
    used[inputs.tensor] = used[outputs.tensor] = True
    ops_coded = Coded.of(op)
    propagate = np.zeros(files, bool)
    propagate[t_file[t.dynamic & used]] = True
    propagate[op_file[ops_coded.eq("SHAPE")]] = True
    if batch:
        check(np.flatnonzero(propagate), _PROPAGATE)
        if bad.any():
            raise _Bad(np.flatnonzero(bad))
    kind = b.value(f, "builtin_options_type")
    table = np.where(f.has("builtin_options"), b.deref(*f["builtin_options"]), 0)
    raw = _options(b, kind, table)
    sub_out, n_sub_out = b.ragged(*fs["outputs"])
    is_output = np.zeros(t.count, bool)
    valid = (sub_out >= 0) & (sub_out < np.repeat(n_t, n_sub_out))
    is_output[(sub_out + np.repeat(t_off, n_sub_out))[valid]] = True
    const, operands, columns = _structure(
        t, ops_coded, op, custom, inputs, outputs, raw, is_output, within(n_sg)[op_sg]
    )
    return Decoded(
        columns=columns,
        tensors=t,
        const=const,
        inputs=inputs,
        outputs=outputs,
        operands=operands,
        ops=ops_coded,
        custom=custom,
        options=(kind, table),
        node_file=op_file,
        node_index=op_index,
        tensor_subgraph=t_sg,
        tensor_index=np.arange(t.count) - t_off[t_sg],
        subgraphs=sgs,
        subgraph_file=sg_file,
        needs_propagation=propagate,
        heads=heads,
    )


def _edges(tensor: np.ndarray, count: np.ndarray, nodes: int) -> Edges:
    node = np.repeat(np.arange(nodes), count)
    keep = tensor >= 0
    return Edges.of(tensor[keep], node[keep], nodes)


def _tensors(b: FlatArrays, tables: np.ndarray, file: np.ndarray, heads: list[Head]) -> Tensors:
    """Every tensor of every file."""
    count = len(tables)
    f = b.fields(
        tables,
        "Tensor",
        ("shape", "type", "buffer", "shape_signature", "name", "quantization", "sparsity"),
    )
    flat, rank = b.ragged(*f["shape"])
    owner = np.repeat(np.arange(count), rank)
    axis = within(rank)
    dims = np.ones((count, max(MIN_RANK, int(rank.max(initial=0)))), np.int64)
    dims[owner, axis] = flat
    sig, sig_len = b.ragged(*f["shape_signature"])
    signature = Edges.of(sig, np.repeat(np.arange(count), sig_len), count)
    # unknown beyond the batch dimension (a batch of -1 runs as the stored shape's)
    dynamic = signature.sums((sig < 0) & (signature.pos > 0)) > 0
    dynamic |= np.bincount(owner, flat < 0, minlength=count) > 0
    dtype = b.value(f, "type")
    buf = b.value(f, "buffer")
    n_buf = np.array([len(h.buffer_size) for h in heads], np.int64)
    has = (buf > 0) & (buf < n_buf[file])
    first = np.cumsum(n_buf) - n_buf
    sizes = np.concatenate([h.buffer_size for h in heads])
    stored = np.where(has, sizes[np.where(has, first[file] + buf, 0)] if len(sizes) else 0, 0)
    numel = np.prod(np.maximum(dims, 1), axis=1)
    nbytes = np.where(
        stored > 0, stored, np.ceil(numel * _SIZE[np.minimum(dtype, len(TENSOR_TYPES))])
    )
    return Tensors(
        dims=dims,
        rank=rank,
        dtype=dtype,
        numel=numel,
        nbytes=nbytes.astype(np.int64),
        stored=stored > 0,
        dynamic=dynamic,
        buffer=np.where(has, buf, 0),
        signature=signature,
        has_signature=f.has("shape_signature"),
        name=f["name"][0],
        quantization=f["quantization"][0],
        sparse=f.has("sparsity"),
    )


def _options(b: FlatArrays, kind: np.ndarray, table: np.ndarray) -> dict[str, np.ndarray]:
    """The options fields the columns read (:data:`_OPTION_FIELDS`), from every options table
    that has them, by name: -1 where a node's table has no such field, the schema's default
    where the field is absent from a table that has it."""
    n = len(kind)
    out = {name: np.full(n, -1) for name in _OPTION_FIELDS}
    out["fused_activation_function"] = np.zeros(n, np.int64)
    for code in sorted(set(kind[table > 0].tolist())):  # np.unique would import numpy.ma
        name = BUILTIN_OPTIONS[code] if code < len(BUILTIN_OPTIONS) else ""
        which = tuple(k for k in _OPTION_FIELDS if k in slots(name)) if name in TABLES else ()
        if not which:
            continue
        rows = np.flatnonzero((kind == code) & (table > 0))
        f = b.fields(table[rows], name, which)
        for key in which:
            out[key][rows] = b.value(f, key)
    return out


# --- what the rules make of them -------------------------------------------------------------


def _structure(
    t: Tensors,
    ops: Coded,
    op: np.ndarray,
    custom: np.ndarray,
    inputs: Edges,
    outputs: Edges,
    raw: dict[str, np.ndarray],
    is_output: np.ndarray,
    subgraph: np.ndarray,
) -> tuple[np.ndarray, Operands, ModelColumns]:
    """Roles, operands, options and the composition's facts of every node of every file."""
    n = len(op)
    const = t.stored.copy()
    role = np.full(n, "compute", dtype=object)
    role[custom] = "custom"
    for p in np.flatnonzero(ops.isin(WEIGHT_PREP_OPS) & ~custom & (inputs.count > 0)):
        # in operator order: what one prepares, the next may prepare further (DENSIFY, then
        # DEQUANTIZE); once prepared, outputs are weights to their consumers
        if const[inputs.tensor[inputs.start[p] : inputs.start[p] + inputs.count[p]]].all():
            role[p] = "weight_prep"
            const[outputs.tensor[outputs.start[p] : outputs.start[p] + outputs.count[p]]] = True
    # integer arithmetic on a few values (SHAPE, GATHER, REDUCE_PROD, PACK on shapes): it runs,
    # but costs next to nothing against any real layer
    big = ~(_INTS[t.type_index(np.arange(t.count))] & (t.numel <= 64))
    shape = (outputs.count > 0) & (inputs.sums(big[inputs.tensor]) == 0)
    role[shape & (outputs.sums(big[outputs.tensor]) == 0) & (role == "compute")] = "shape"
    acts = inputs.where(~const[inputs.tensor])
    operands = Operands(
        inputs.nth(0), inputs.nth(1), inputs.nth(2), outputs.nth(0), acts.nth(0), acts.nth(1)
    )
    _mark_merged_pads(role, ops, op, inputs, outputs, operands, t, const, is_output)
    attrs = _attrs(t, ops, operands, raw)
    kind = op.copy()
    a0 = operands.a0
    quant = (a0 >= 0) & _QUANT[t.type_index(np.maximum(a0, 0))] & ~custom
    quant &= ~ops.isin(["QUANTIZE", "DEQUANTIZE"])
    kind[quant] = [f"{o}:INT8" for o in op[quant]]
    # a float convolution whose filter sees a fraction of the input channels (groups > 1, as
    # Keras writes ConvNeXt's and ResNeXt's): its own kind (ops.GROUPED_CONV)
    w = operands.second
    grouped = ops.eq("CONV_2D") & ~quant & (t.rank_of(a0) == 4) & (t.rank_of(w) == 4)
    kind[grouped & (t.dim(a0, 3) > t.dim(w, 3)) & (t.dim(w, 3) > 0)] = GROUPED_CONV
    readers = np.bincount(inputs.tensor, minlength=t.count)
    producer_of = np.full(t.count, -1)
    producer_of[outputs.tensor] = outputs.node
    columns = _measured(
        t,
        ops,
        const,
        inputs,
        outputs,
        operands,
        attrs,
        kind=kind,
        op=op,
        role=role,
        subgraph=subgraph,
        n_inputs=acts.count.astype(float),
        producer=np.where(a0 >= 0, producer_of[np.maximum(a0, 0)], -1),
        single_reader=(a0 >= 0) & (readers[np.maximum(a0, 0)] == 1),
        output_read=(operands.out0 >= 0) & (readers[np.maximum(operands.out0, 0)] > 0),
    )
    return const, operands, columns


def _measured(
    t: Tensors,
    ops: Coded,
    const: np.ndarray,
    inputs: Edges,
    outputs: Edges,
    operands: Operands,
    attrs: Attrs,
    **rest: Any,
) -> ModelColumns:
    """The columns, with the parts that follow from the tensors' shapes computed from them."""
    return ModelColumns(
        costs=costs.of(ops, t, const, inputs, outputs, operands, attrs),
        attrs=attrs,
        inputs=Shapes.of(t, operands.a0),
        outputs=Shapes.of(t, operands.out0),
        second=Shapes.of(t, operands.a1),
        cout=np.where(operands.out0 >= 0, t.last_of(operands.out0), 0).astype(float),
        **rest,
    )


def reshaped(d: Decoded, shapes: list[list[int]], nbytes: list[int]) -> ModelColumns:
    """The columns again after shape propagation gave the tensors these shapes (and sizes in
    bytes): costs, operand shapes and output channels follow the new shapes; roles and
    options stay as read (as the node objects keep them)."""
    t = d.tensors
    rank = np.array([len(s) for s in shapes], np.int64)
    dims = np.ones((t.count, max(MIN_RANK, int(rank.max(initial=0)))), np.int64)
    for k, s in enumerate(shapes):
        dims[k, : len(s)] = s
    t = replace(
        t,
        dims=dims,
        rank=rank,
        numel=np.prod(np.maximum(dims, 1), axis=1),
        nbytes=np.array(nbytes, np.int64),
    )
    c = d.columns
    keep = {
        k: getattr(c, k)
        for k in (
            "kind",
            "op",
            "role",
            "subgraph",
            "n_inputs",
            "producer",
            "single_reader",
            "output_read",
        )
    }
    return _measured(t, d.ops, d.const, d.inputs, d.outputs, d.operands, c.attrs, **keep)


def _attrs(t: Tensors, ops: Coded, o: Operands, raw: dict[str, np.ndarray]) -> Attrs:
    w4 = t.rank_of(o.second) == 4
    conv = ops.isin(_CONV_LIKE) & w4
    filter_h, filter_w = raw["filter_height"], raw["filter_width"]
    kernel_h = np.where(conv, t.dim(o.second, 1), filter_h).astype(np.int64)
    kernel_w = np.where(conv, t.dim(o.second, 2), filter_w).astype(np.int64)
    from_shapes = ops.eq(TRANSPOSE_CONV_CUSTOM) & (t.rank_of(o.first) == 4) & (o.out0 >= 0)
    stride = np.where(
        from_shapes, t.dim(o.out0, 1) // np.maximum(t.dim(o.first, 1), 1), raw["stride_h"]
    ).astype(np.int64)
    return Attrs(
        kernel_h=kernel_h,
        kernel_w=kernel_w,
        stride=stride,
        dilation=raw["dilation_h_factor"],
        padding=raw["padding"],
        act=raw["fused_activation_function"],
        filter_h=filter_h,
        filter_w=filter_w,
        stride_from_shapes=from_shapes,
    )


def _mark_merged_pads(
    role: np.ndarray,
    ops: Coded,
    op: np.ndarray,
    inputs: Edges,
    outputs: Edges,
    o: Operands,
    t: Tensors,
    const: np.ndarray,
    is_output: np.ndarray,
) -> None:
    """Role ``merged`` for a spatial-only PAD whose one consumer is a convolution's input:
    the runtime pads inside the convolution."""
    for p in np.flatnonzero(ops.eq("PAD") & (role == "compute")).tolist():
        x, paddings, y = o.first[p], o.second[p], o.out0[p]
        if paddings < 0 or outputs.count[p] != 1 or not const[paddings]:
            continue
        if t.rank[x] != 4 or t.rank[y] != 4 or is_output[y]:
            continue
        if t.dims[x, 0] != t.dims[y, 0] or t.dims[x, 3] != t.dims[y, 3]:
            continue  # batch or channel padding: not a convolution's border
        users = np.flatnonzero(inputs.tensor == y)
        if len(users) == 1 and op[inputs.node[users[0]]] in PAD_MERGING_OPS:
            if inputs.pos[users[0]] == 0:
                role[p] = "merged"
