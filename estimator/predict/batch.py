"""Many models' nodes as one set of arrays, so every later step — features, regressors, the
runtime's fusion and partitions, the composition — runs once per batch instead of once per
node: the fast path an architecture search takes (``LatencyEstimator.predict_totals``).

Each model comes from its file through the column reader (:mod:`..graph.columns`), or, when
it needs shape propagation or is already parsed, from its graph; the feature table
(:func:`..features.node_table`) is computed once for the whole batch.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Union

import numpy as np

from ..features import with_table
from ..graph import ModelGraph, read_model
from ..graph.coded import Coded
from ..graph.columns import ModelColumns, Unsupported, read_batch, read_many

ModelInput = Union[str, Path, bytes, ModelGraph]  # noqa: UP007 (a runtime alias on 3.10)


@dataclass
class NodeBatch:
    """The nodes of several models, model after model; ``starts[m]:starts[m + 1]`` are model
    m's, and ``producer`` indexes the whole batch."""

    cols: ModelColumns
    starts: np.ndarray
    segment: np.ndarray  # per node, its model's position in the batch

    @property
    def models(self) -> int:
        return len(self.starts) - 1

    def sums(self, values: np.ndarray) -> np.ndarray:
        """Per model, the sum of a per-node quantity."""
        return np.bincount(self.segment, values, minlength=self.models)

    @cached_property
    def kinds(self) -> Coded:
        return Coded.of(self.cols.kind)

    def role_in(self, roles: Iterable[str]) -> np.ndarray:
        """bool per node: its role is one of ``roles`` (a handful of values, compared)."""
        out = np.zeros(len(self.segment), bool)
        for r in roles:
            out |= self.cols.role == r
        return out


def batch_for(models: list[ModelInput]) -> NodeBatch:
    """One batch of the models, in order: files that the column reader takes all at once are
    used as read (no per-model columns), anything else goes through :func:`columns_of`."""
    if models and all(isinstance(m, bytes) for m in models):
        got = read_batch(models)  # type: ignore[arg-type]
        if got is not None:
            cols, sizes = got
            starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
            return NodeBatch(with_table(cols), starts, np.repeat(np.arange(len(models)), sizes))
    return batch_of(columns_of(models))


def columns_of(models: list[ModelInput]) -> list[ModelColumns]:
    """Each model's columns: files through the column reader, all at once; parsed graphs,
    and files the batch leaves to be read alone (shape propagation), through their graph."""
    data: dict[int, bytes] = {}
    out: list[ModelColumns | None] = []
    for i, m in enumerate(models):
        if isinstance(m, ModelGraph):
            out.append(m.columns)
            continue
        out.append(None)
        try:
            data[i] = m if isinstance(m, bytes) else Path(m).read_bytes()
        except OSError:
            out[i] = read_model(m).columns  # raises its one-line error
    for i, got in zip(data, read_many(list(data.values())), strict=True):
        if isinstance(got, Unsupported):
            got = read_model(data[i], name=_label(models[i])).columns
        out[i] = got
    return [c for c in out if c is not None]


def _label(model: ModelInput) -> str:
    return "<bytes>" if isinstance(model, bytes) else str(model)


def batch_of(parts: list[ModelColumns]) -> NodeBatch:
    """One batch of the models' columns, in order, with the batch's feature table."""
    sizes = np.array([len(p) for p in parts], np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    cols = with_table(ModelColumns.concat(parts) if parts else ModelColumns.empty())
    return NodeBatch(cols, starts, np.repeat(np.arange(len(parts)), sizes))


def distinct_rows(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct rows of X, each row's position among them): regressors then predict each
    distinct layer once. Rows are grouped by a random projection (one sort of floats, where
    ``np.unique(axis=0)`` sorts whole rows), then checked equal; on the rare mismatch, all rows
    are kept."""
    if len(X) < 2:
        return X, np.arange(len(X))
    key = X @ _PROJECTION[: X.shape[1]]
    order = np.argsort(key, kind="stable")  # np.unique's work, without importing numpy.ma
    sorted_key = key[order]
    new = np.concatenate([[True], sorted_key[1:] != sorted_key[:-1]])
    first = order[new]
    back = np.empty(len(X), np.int64)
    back[order] = np.cumsum(new) - 1
    if not np.array_equal(X[first][back], X):
        return X, np.arange(len(X))
    return X[first], back


# fixed weights spread over [0.5, 1.5) (golden-ratio steps; numpy.random costs an import)
_PROJECTION = np.modf(np.arange(1, 257) * 0.6180339887498949)[0] + 0.5
