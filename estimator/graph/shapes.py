"""Output shapes of TFLite operators, and the values of the small integer tensors that shape
computations carry (SHAPE -> GATHER -> REDUCE_PROD -> PACK -> RESHAPE in a Keras ``Tensordot``).

One set of rules serves the model builder (which declares every tensor's shape) and shape
propagation on models read from disk (which resolves what the file leaves dynamic), so a rule
checked against the runtime once is right in both places.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

Shape = list[int]


class ShapeError(ValueError):
    """The inputs cannot produce an output (or the rule needs a value it does not have)."""


def _same_or_valid(size: int, k: int, s: int, d: int, padding: str) -> int:
    if padding == "SAME":
        return -(-size // s)
    eff = (k - 1) * d + 1
    out = (size - eff) // s + 1
    if out < 1:
        raise ShapeError(f"a {k}x{k} window (dilation {d}) does not fit {size} pixels")
    return out


def _spatial(x: Shape, k: tuple[int, int], o: dict[str, Any]) -> tuple[int, int]:
    pad = o.get("padding", "SAME")
    return (
        _same_or_valid(x[1], k[0], o.get("stride_h", 1), o.get("dilation_h_factor", 1), pad),
        _same_or_valid(x[2], k[1], o.get("stride_w", 1), o.get("dilation_w_factor", 1), pad),
    )


def broadcast(a: Sequence[int], b: Sequence[int]) -> Shape:
    n = max(len(a), len(b))
    a = [1] * (n - len(a)) + list(a)
    b = [1] * (n - len(b)) + list(b)
    out = []
    for x, y in zip(a, b, strict=True):
        if x != y and 1 not in (x, y):
            raise ShapeError(f"shapes {a} and {b} do not broadcast")
        out.append(max(x, y) if 1 in (x, y) else x)
    return out


def _axis(axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        raise ShapeError(f"axis {axis} is outside a rank-{rank} tensor")
    return axis % rank


def _conv(s: list[Shape], v: list[Any], o: dict[str, Any]) -> list[Shape]:
    x, w = s[0], s[1]
    if len(x) != 4 or len(w) != 4 or w[3] and x[3] % w[3]:
        raise ShapeError(f"conv input {x} and filter {w} do not match")
    h, wd = _spatial(x, (w[1], w[2]), o)
    return [[x[0], h, wd, w[0]]]


def _depthwise(s: list[Shape], v: list[Any], o: dict[str, Any]) -> list[Shape]:
    x, w = s[0], s[1]
    if len(x) != 4 or len(w) != 4 or w[3] % max(x[3], 1):
        raise ShapeError(f"depthwise input {x} and filter {w} do not match")
    h, wd = _spatial(x, (w[1], w[2]), o)
    return [[x[0], h, wd, w[3]]]


def _transpose_conv(s: list[Shape], v: list[Any], o: dict[str, Any]) -> list[Shape]:
    if v[0] is None:
        raise ShapeError("TRANSPOSE_CONV needs its output_shape input")
    return [[int(d) for d in v[0]]]


def _fully_connected(s: list[Shape], v: list[Any], o: dict[str, Any]) -> list[Shape]:
    x, w = s[0], s[1]
    if len(w) != 2 or math.prod(x) % max(w[1], 1):
        raise ShapeError(f"fully connected input {x} and weights {w} do not match")
    if o.get("keep_num_dims"):
        return [list(x[:-1]) + [w[0]]]
    return [[math.prod(x) // w[1], w[0]]]


def _batch_matmul(s: list[Shape], v: list[Any], o: dict[str, Any]) -> list[Shape]:
    a, b = list(s[0]), list(s[1])
    if o.get("adj_x"):
        a[-1], a[-2] = a[-2], a[-1]
    if o.get("adj_y"):
        b[-1], b[-2] = b[-2], b[-1]
    if a[-1] != b[-2]:
        raise ShapeError(f"batch matmul {s[0]} x {s[1]}: inner sizes differ")
    return [broadcast(a[:-2], b[:-2]) + [a[-2], b[-1]]]


def _pool(s: list[Shape], v: list[Any], o: dict[str, Any]) -> list[Shape]:
    x = s[0]
    h, w = _spatial(x, (o.get("filter_height", 1), o.get("filter_width", 1)), o)
    return [[x[0], h, w, x[3]]]


def _reduce(s: list[Shape], v: list[Any], o: dict[str, Any]) -> list[Shape]:
    if v[1] is None:
        raise ShapeError("a reduction needs its axes")
    rank = len(s[0])
    axes = {_axis(int(a), rank) for a in np.ravel(v[1])}
    keep = o.get("keep_dims", False)
    return [[1 if i in axes else d for i, d in enumerate(s[0]) if keep or i not in axes]]


def _binary(s: list[Shape], v: list[Any], o: dict[str, Any]) -> list[Shape]:
    return [broadcast(s[0], s[1])]


def _unary(s: list[Shape], v: list[Any], o: dict[str, Any]) -> list[Shape]:
    return [list(s[0])]


def _concat(s: list[Shape], v: list[Any], o: dict[str, Any]) -> list[Shape]:
    axis = _axis(o.get("axis", 0), len(s[0]))
    out = list(s[0])
    out[axis] = sum(x[axis] for x in s)
    return [out]


def _pad(s: list[Shape], v: list[Any], o: dict[str, Any]) -> list[Shape]:
    if v[1] is None:
        raise ShapeError("PAD needs its paddings")
    p = np.asarray(v[1]).reshape(-1, 2)
    return [[d + int(a) + int(b) for d, (a, b) in zip(s[0], p, strict=True)]]


def _reshape(s: list[Shape], v: list[Any], o: dict[str, Any]) -> list[Shape]:
    target = v[1] if len(v) > 1 and v[1] is not None else o.get("new_shape")
    if target is None:
        raise ShapeError("RESHAPE needs its new shape")
    target = [int(d) for d in np.ravel(target)]
    total = math.prod(s[0])
    if -1 in target:
        known = math.prod(d for d in target if d != -1) or 1
        target[target.index(-1)] = total // known
    if math.prod(target) != total:
        raise ShapeError(f"cannot reshape {s[0]} into {target}")
    return [target]


def _transpose(s: list[Shape], v: list[Any], o: dict[str, Any]) -> list[Shape]:
    if v[1] is None:
        raise ShapeError("TRANSPOSE needs its permutation")
    return [[s[0][int(p)] for p in np.ravel(v[1])]]


def _gather(s: list[Shape], v: list[Any], o: dict[str, Any]) -> list[Shape]:
    axis = _axis(o.get("axis", 0), len(s[0]))
    return [list(s[0][:axis]) + list(s[1]) + list(s[0][axis + 1 :])]


def _slice(s: list[Shape], v: list[Any], o: dict[str, Any]) -> list[Shape]:
    if v[1] is None or v[2] is None:
        raise ShapeError("SLICE needs begin and size")
    begin, size = np.ravel(v[1]), np.ravel(v[2])
    return [[int(d - b) if z == -1 else int(z) for d, b, z in zip(s[0], begin, size, strict=True)]]


def _strided_slice(s: list[Shape], v: list[Any], o: dict[str, Any]) -> list[Shape]:
    if any(x is None for x in v[1:4]):
        raise ShapeError("STRIDED_SLICE needs begin, end and strides")
    if o.get("ellipsis_mask") or o.get("new_axis_mask"):
        raise ShapeError("STRIDED_SLICE with ellipsis or new axes is not resolved")
    begin, end, strides = (np.ravel(x).tolist() for x in v[1:4])
    out = []
    for i, d in enumerate(s[0]):
        if i >= len(begin):
            out.append(d)
            continue
        b, e, st = begin[i], end[i], strides[i]
        if o.get("begin_mask", 0) >> i & 1:
            b = 0 if st > 0 else d - 1
        if o.get("end_mask", 0) >> i & 1:
            e = d if st > 0 else -d - 1
        n = len(range(*slice(b, e, st).indices(d)))
        if o.get("shrink_axis_mask", 0) >> i & 1:
            continue
        out.append(n)
    return [out]


def _split(s: list[Shape], v: list[Any], o: dict[str, Any]) -> list[Shape]:
    if v[0] is None:
        raise ShapeError("SPLIT needs its axis")
    x = s[1]
    axis = _axis(int(np.ravel(v[0])[0]), len(x))
    n = o.get("num_splits", 1)
    if x[axis] % n:
        raise ShapeError(f"{x[axis]} does not split in {n}")
    part = list(x)
    part[axis] //= n
    return [list(part) for _ in range(n)]


def _pack(s: list[Shape], v: list[Any], o: dict[str, Any]) -> list[Shape]:
    out = list(s[0])
    out.insert(_axis(o.get("axis", 0), len(out) + 1), len(s))
    return [out]


def _resize(s: list[Shape], v: list[Any], o: dict[str, Any]) -> list[Shape]:
    if v[1] is None:
        raise ShapeError("a resize needs its size")
    h, w = (int(d) for d in np.ravel(v[1]))
    return [[s[0][0], h, w, s[0][3]]]


def _depth_to_space(s: list[Shape], v: list[Any], o: dict[str, Any]) -> list[Shape]:
    b, (n, h, w, c) = o.get("block_size", 2), s[0]
    if c % (b * b):
        raise ShapeError(f"{c} channels do not fill {b}x{b} blocks")
    return [[n, h * b, w * b, c // (b * b)]]


def _space_to_depth(s: list[Shape], v: list[Any], o: dict[str, Any]) -> list[Shape]:
    b, (n, h, w, c) = o.get("block_size", 2), s[0]
    if h % b or w % b:
        raise ShapeError(f"{h}x{w} does not divide into {b}x{b} blocks")
    return [[n, h // b, w // b, c * b * b]]


def _shape(s: list[Shape], v: list[Any], o: dict[str, Any]) -> list[Shape]:
    return [[len(s[0])]]


RULES: dict[str, Callable[[list[Shape], list[Any], dict[str, Any]], list[Shape]]] = {
    "CONV_2D": _conv,
    "DEPTHWISE_CONV_2D": _depthwise,
    "TRANSPOSE_CONV": _transpose_conv,
    "FULLY_CONNECTED": _fully_connected,
    "BATCH_MATMUL": _batch_matmul,
    "AVERAGE_POOL_2D": _pool,
    "MAX_POOL_2D": _pool,
    "L2_POOL_2D": _pool,
    "CONCATENATION": _concat,
    "PAD": _pad,
    "PADV2": _pad,
    "MIRROR_PAD": _pad,
    "RESHAPE": _reshape,
    "TRANSPOSE": _transpose,
    "GATHER": _gather,
    "SLICE": _slice,
    "STRIDED_SLICE": _strided_slice,
    "SPLIT": _split,
    "PACK": _pack,
    "RESIZE_BILINEAR": _resize,
    "RESIZE_NEAREST_NEIGHBOR": _resize,
    "DEPTH_TO_SPACE": _depth_to_space,
    "SPACE_TO_DEPTH": _space_to_depth,
    "SHAPE": _shape,
}
for _op in ("MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD", "REDUCE_ANY"):
    RULES[_op] = _reduce
BINARY = ("ADD", "SUB", "MUL", "DIV", "MAXIMUM", "MINIMUM", "SQUARED_DIFFERENCE", "POW",
          "FLOOR_DIV", "FLOOR_MOD", "LESS", "GREATER", "EQUAL", "NOT_EQUAL", "PRELU")  # fmt: skip
for _op in BINARY:
    RULES[_op] = _binary
for _op in ("RELU", "RELU6", "RELU_N1_TO_1", "LEAKY_RELU", "LOGISTIC", "TANH", "HARD_SWISH",
            "GELU", "EXP", "LOG", "SQRT", "RSQRT", "SQUARE", "ABS", "NEG", "ELU", "SOFTMAX",
            "LOG_SOFTMAX", "L2_NORMALIZATION", "QUANTIZE", "DEQUANTIZE", "CAST", "FLOOR",
            "SIN", "COS"):  # fmt: skip
    RULES[_op] = _unary


def output_shapes(
    op: str, shapes: list[Shape], values: list[Any], options: dict[str, Any]
) -> list[Shape]:
    """The output shapes of ``op``; ``values`` holds the known contents of inputs (None when
    unknown), which shape-carrying inputs (axes, paddings, new shapes) need."""
    rule = RULES.get(op)
    if rule is None:
        raise ShapeError(f"no shape rule for {op}")
    return rule(shapes, values, options)


# --- values of small integer tensors -----------------------------------------------------------


def output_values(
    op: str, shapes: list[Shape], values: list[Any], options: dict[str, Any]
) -> list[Any] | None:
    """Contents of a shape computation's output (SHAPE, GATHER, REDUCE_PROD, PACK, ...) when
    every input it reads is known; None otherwise."""
    if op == "SHAPE":
        return [np.array(shapes[0], dtype=np.int64)]
    if any(x is None for x in values):
        return None
    v = [np.asarray(x) for x in values]
    try:
        if op == "GATHER":
            return [np.take(v[0], v[1].astype(int), axis=options.get("axis", 0))]
        if op in ("REDUCE_PROD", "SUM", "REDUCE_MAX", "REDUCE_MIN"):
            fn = {"REDUCE_PROD": np.prod, "SUM": np.sum, "REDUCE_MAX": np.max,
                  "REDUCE_MIN": np.min}[op]  # fmt: skip
            axes = tuple(int(a) for a in np.ravel(v[1]))
            return [fn(v[0], axis=axes, keepdims=options.get("keep_dims", False))]
        if op == "PACK":
            return [np.stack(v, axis=options.get("axis", 0))]
        if op == "CONCATENATION":
            return [np.concatenate(v, axis=options.get("axis", 0))]
        if op in ("ADD", "SUB", "MUL", "FLOOR_DIV", "MAXIMUM", "MINIMUM"):
            fn = {"ADD": np.add, "SUB": np.subtract, "MUL": np.multiply,
                  "FLOOR_DIV": np.floor_divide, "MAXIMUM": np.maximum,
                  "MINIMUM": np.minimum}[op]  # fmt: skip
            return [fn(v[0], v[1])]
        if op == "CAST":
            return [v[0]]
        if op in ("RESHAPE", "SQUEEZE", "EXPAND_DIMS"):
            out = output_shapes(op, shapes, values, options)[0] if op == "RESHAPE" else None
            return [v[0].reshape(out) if out is not None else v[0]]
        if op == "STRIDED_SLICE" and v[0].ndim == 1:
            b, e, st = int(v[1][0]), int(v[2][0]), int(v[3][0])
            if options.get("begin_mask", 0) & 1:
                b = 0
            if options.get("end_mask", 0) & 1:
                e = len(v[0])
            out = v[0][b:e:st]
            return [out[0] if options.get("shrink_axis_mask", 0) & 1 else out]
    except (ValueError, IndexError, KeyError, TypeError):
        return None
    return None
