"""Resolve every tensor's real shape before anything is priced.

Converters leave shapes dynamic where a model computes them at run time: Keras' ``Tensordot``
(ConvNeXt's token MLPs) reshapes through SHAPE -> GATHER -> REDUCE_PROD -> PACK, and the file
stores the result as ``[1, 1]`` (signature ``[-1, -1]``), so a token MLP on 1024 rows would be
priced as one row. Walking the operators in order with the shape rules of :mod:`.shapes`, and
the values of the small integer tensors those computations carry, gives the shapes the
runtime will see. Tensors whose shape changed are marked ``inferred``; the reader then
computes the columns, and the nodes' costs, again from the new shapes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .dtypes import nbytes
from .nodes import ModelGraph, Tensor
from .shapes import ShapeError, output_shapes, output_values


def resolve(graph: ModelGraph) -> int:
    """Recompute output shapes in operator order; returns how many tensors changed."""
    changed = 0
    by_subgraph: dict[int, list] = {}
    for node in graph.nodes:
        by_subgraph.setdefault(node.subgraph, []).append(node)
    for nodes in by_subgraph.values():
        values: dict[int, Any] = {}
        for node in nodes:
            for t in node.inputs:
                if t.value is not None and t.index not in values:
                    values[t.index] = np.array(t.value).reshape(t.shape or ())
            shapes = [list(t.shape) for t in node.inputs]
            vals = [values.get(t.index) for t in node.inputs]
            try:
                outs = output_shapes(node.op, shapes, vals, node.options)
            except (ShapeError, IndexError, ValueError, TypeError, KeyError):
                continue
            got = output_values(node.op, shapes, vals, node.options)
            for k, (t, shape) in enumerate(zip(node.outputs, outs, strict=False)):
                if got is not None and k < len(got) and np.size(got[k]) <= 64:
                    values[t.index] = np.asarray(got[k])
                if shape != t.shape and all(d >= 0 for d in shape):
                    _set_shape(t, shape)
                    changed += 1
    return changed


def _set_shape(t: Tensor, shape: list[int]) -> None:
    t.shape = [int(d) for d in shape]
    t.numel = math.prod(max(d, 1) for d in t.shape)
    if not t.is_constant:
        t.nbytes = nbytes(t.dtype, t.numel)
    t.inferred = True
