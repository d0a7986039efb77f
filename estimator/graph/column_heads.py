"""What the column reader (:mod:`.columns`) reads of each file on its own, before a batch's
files are read as one: the model table's fields, every buffer's size, and the byte ranges of
large weight buffers, which no later read touches and the batch's copy leaves out."""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from .flatarrays import FlatArrays

_EMPTY = np.zeros(0, np.int64)


class Unsupported(Exception):
    """A model the column reader leaves to the object reader."""


@dataclass
class Head:
    """What is read of one file on its own: where its tables start, its buffers' sizes and
    the byte ranges of large buffers (never read, so left out of the batch's copy)."""

    codes: int
    subgraphs: int
    buffer_size: np.ndarray
    holes: tuple[np.ndarray, np.ndarray]  # starts, ends


def read_head(data: bytes) -> Head:
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise Unsupported("not a TFLite model")
    try:
        root = _U32.unpack_from(data, 0)[0]
        f_version, f_codes, f_subgraphs, _, f_buffers = _root_fields(data, root)
        if not f_version or _U32.unpack_from(data, f_version)[0] != 3:
            raise Unsupported("schema version")
        size, holes = _buffers(FlatArrays.of(data), f_buffers)
    except (IndexError, ValueError, OverflowError, struct.error) as exc:
        raise Unsupported(f"damaged: {exc}") from exc
    return Head(f_codes, f_subgraphs, size, holes)


_U32, _I32, _U16 = struct.Struct("<I"), struct.Struct("<i"), struct.Struct("<H")


def _root_fields(data: bytes, root: int) -> list[int]:
    """Positions of the model table's first five fields (0: absent), read with struct: one
    table is faster read without numpy."""
    vt = root - _I32.unpack_from(data, root)[0]
    size = _U16.unpack_from(data, vt)[0]
    out = []
    for k in range(5):
        off = _U16.unpack_from(data, vt + 4 + 2 * k)[0] if 4 + 2 * k < size else 0
        out.append(root + off if off else 0)
    return out


def _buffers(b: FlatArrays, f_buffers: int) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Each buffer's size, and the aligned insides of those over 1 KB (sorted, disjoint)."""
    no_holes = (_EMPTY, _EMPTY)
    if not f_buffers:
        return _EMPTY, no_holes
    vec = f_buffers + int(b.u32[f_buffers >> 2])
    slots = vec + 4 + 4 * np.arange(int(b.u32[vec >> 2]))
    if not len(slots):
        return _EMPTY, no_holes
    tables = slots + b.u32[slots >> 2]
    vt = tables - b.i32[tables >> 2]
    vsize = b.u16[vt >> 1]
    data = np.where(vsize > 4, b.u16[(vt + 4) >> 1], 0)
    if (np.where(vsize > 6, b.u16[(vt + 6) >> 1], 0) > 0).any():
        raise Unsupported("external buffers")  # weights kept after the flatbuffer: object reader
    at = np.where(data > 0, tables + data, 0)
    start = np.where(data > 0, at + b.u32[at >> 2], 0) + 4
    size = np.where(data > 0, b.u32[start - 4 >> 2], 0).astype(np.int64)
    if int((start + size).max(initial=0)) > len(b.u8):
        raise Unsupported("truncated")
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
    return size, (lo[apart], hi[apart])
