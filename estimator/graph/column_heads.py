"""What the column reader (:mod:`.columns`) reads of each file on its own, before a batch's
files are read as one: the model table's fields, every buffer's size and start, and the byte
ranges of large weight buffers, which no later read touches and the batch's copy leaves out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import flatbuffers as fb
from .flatarrays import FlatArrays

_EMPTY = np.zeros(0, np.int64)
SUPPORTED_SCHEMA_VERSION = 3
FIX = "re-export the model, or check that the download finished"


class Unsupported(Exception):
    """A file a batch does not take, and why: :func:`~.reader.read_model` reads it on its
    own, and either propagates its shapes or says what is wrong with it."""


class Malformed(Exception):
    """What is wrong with a file (``read_model`` puts its name in front), and what to do."""

    def __init__(self, message: str, hint: str | None = FIX) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass
class Head:
    """What is read of one file on its own: its model table's fields, its buffers' sizes and
    starts, and the byte ranges of large buffers (never read, so left out of the batch's
    copy)."""

    version: int
    codes: int
    subgraphs: int
    description: int
    buffer_size: np.ndarray
    buffer_start: np.ndarray
    holes: tuple[np.ndarray, np.ndarray]  # starts, ends


def read_head(data: bytes) -> Head:
    """The file's head; raises :class:`Malformed` (an unknown schema version, a buffer past
    the end) or :class:`~.flatbuffers.Truncated`."""
    model = fb.root(data)
    f_version, f_codes, f_subgraphs, f_desc, f_buffers = fb.named(
        data, model, "Model", "version", "operator_codes", "subgraphs", "description", "buffers"
    )
    version = fb.u32(data, f_version) if f_version else 0
    if version != SUPPORTED_SCHEMA_VERSION:
        raise Malformed(
            f"unsupported TFLite schema version {version} "
            f"(this tool reads version {SUPPORTED_SCHEMA_VERSION})",
            "re-convert the model with a current TensorFlow",
        )
    size, start, holes = _buffers(data, FlatArrays.of(data), f_buffers)
    return Head(version, f_codes, f_subgraphs, f_desc, size, start, holes)


def _buffers(
    data: bytes, b: FlatArrays, f_buffers: int
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Each buffer's size and start, checked to end inside the file, and the aligned insides
    of those over 1 KB (sorted, disjoint). A buffer is its ``data`` vector, or, in models over
    2 GB, ``size`` bytes at ``offset`` after the flatbuffer."""
    if not f_buffers:
        return _EMPTY, _EMPTY, (_EMPTY, _EMPTY)
    got = _plain_buffers(b, f_buffers)  # every file read on its own (a batch too) comes here
    start, size = got if got is not None else _checked_buffers(b, f_buffers)
    end = start + size
    past = np.flatnonzero(end > len(data))
    if len(past):
        k = int(past[0])
        raise Malformed(
            f"truncated TFLite file: it has {len(data)} bytes, but its buffer {k} ends at byte "
            f"{int(end[k])}, so it should be at least {int(end[k])} bytes long"
        )
    big = size > 1024
    lo, hi = (start[big] + 7) // 8 * 8, (start[big] + size[big]) // 8 * 8
    if len(lo) > 1 and not (lo[1:] > lo[:-1]).all():
        if (lo[1:] < lo[:-1]).all():  # written back to front: the usual order
            lo, hi = lo[::-1], hi[::-1]
        else:
            order = np.argsort(lo, kind="stable")
            lo, hi = lo[order], hi[order]
    reach = np.maximum.accumulate(hi)  # a buffer shared by two tables is one hole
    apart = np.concatenate([[True], lo[1:] >= reach[:-1]]) & (hi > lo)
    return size, start, (lo[apart], hi[apart])


def _checked_buffers(b: FlatArrays, f_buffers: int) -> tuple[np.ndarray, np.ndarray]:
    """Starts and sizes, every read checked (a damaged file says where it goes wrong)."""
    tables, _ = b.tables(np.array([f_buffers], np.int64))
    f = b.fields(tables, "Buffer", ("data", "offset", "size"))
    offset = b.value(f, "offset")
    outside = offset > 1
    start, _, size = b.vectors(f["data"][0], item=1)
    start = np.where(outside, offset, np.where(f.has("data"), start, 0))
    return start, np.where(outside, b.value(f, "size"), size)


def _plain_buffers(b: FlatArrays, f_buffers: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The same in a few reads of the typed views, for the usual file: its buffers are
    ``data`` vectors inside it (None otherwise, or where any read falls outside it; the
    checked reads then say why). A batch of small models reads one head per file."""
    n, u16, u32 = len(b.u8), b.u16, b.u32
    if f_buffers + 4 > n:
        return None
    vec = f_buffers + int(u32[f_buffers >> 2])
    count = int(u32[vec >> 2]) if vec + 4 <= n else -1
    if count < 0 or vec + 4 + 4 * count > n:
        return None
    slots = vec + 4 + 4 * np.arange(count)
    tables = slots + u32[slots >> 2]
    vt = tables - b.i32[np.minimum(tables, n - 4) >> 2]
    if count and (int(tables.max()) + 4 > n or int(vt.min()) < 0 or int(vt.max()) + 8 > n):
        return None
    vsize = u16[vt >> 1]
    data = np.where(vsize > 4, u16[(vt + 4) >> 1], 0)
    if (np.where(vsize > 6, u16[(vt + 6) >> 1], 0) > 0).any():
        return None  # offsets: weights kept after the flatbuffer
    at = np.where(data > 0, tables + data, 0)
    start = np.where(data > 0, at + u32[np.minimum(at, n - 4) >> 2], 0) + 4
    if count and int(start.max()) > n:
        return None
    size = np.where(data > 0, u32[(start - 4) >> 2], 0).astype(np.int64)
    return np.where(data > 0, start, 0), size
