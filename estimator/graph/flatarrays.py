"""A flatbuffer as typed numpy views, with table fields, vectors and scalars read for many
tables at once: what the column reader (:mod:`.columns`) gathers a model's arrays with."""

from __future__ import annotations

import numpy as np


class FlatArrays:
    """Typed views of a flatbuffer, and vectorised table access over many tables at once."""

    def __init__(self, data: bytes) -> None:
        self.n = len(data)
        self.u8 = np.frombuffer(data, np.uint8)
        self.u16 = np.frombuffer(data, np.uint16, count=self.n // 2)
        self.i32 = np.frombuffer(data, np.int32, count=self.n // 4)
        self.u32 = self.i32.view(np.uint32)

    def fields(self, tables: np.ndarray, n: int) -> np.ndarray:
        """[tables x n] absolute positions of each table's first n fields (0: absent)."""
        vt = tables - self.i32[tables >> 2]
        size = self.u16[vt >> 1].astype(np.int64)
        slots = 4 + 2 * np.arange(n)
        ok = slots[None, :] < size[:, None]
        offs = self.u16[np.where(ok, vt[:, None] + slots[None, :], vt[:, None]) >> 1]
        offs = np.where(ok, offs, 0).astype(np.int64)
        return np.where(offs > 0, tables[:, None] + offs, 0)

    def deref(self, pos: np.ndarray) -> np.ndarray:
        return pos + self.u32[pos >> 2].astype(np.int64)

    def vectors(self, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(element start, length) of the vectors referenced at ``pos`` (0: absent, empty)."""
        present = pos > 0
        vec = np.where(present, self.deref(np.where(present, pos, 0)), 0)
        length = np.where(present, self.u32[vec >> 2], 0).astype(np.int64)
        return vec + 4, length

    def tables(self, pos: int) -> np.ndarray:
        if not pos:
            return np.zeros(0, np.int64)
        start, length = self.vectors(np.array([pos], np.int64))
        slots = start[0] + 4 * np.arange(length[0])
        return slots + self.u32[slots >> 2].astype(np.int64)

    def ragged(self, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The int32 vectors at ``pos``, flattened, and their lengths."""
        start, length = self.vectors(pos)
        total = int(length.sum())
        owner = np.repeat(np.arange(len(pos)), length)
        within = np.arange(total) - np.repeat(np.cumsum(length) - length, length)
        return self.i32[(start[owner] + 4 * within) >> 2].astype(np.int64), length

    def scalar(self, pos: np.ndarray, size: int, default: float) -> np.ndarray:
        """Scalars of ``size`` bytes (1 or 4, signed) at ``pos``, ``default`` where absent."""
        got = pos > 0
        if size == 1:
            values = self.u8[np.where(got, pos, 0)].astype(np.int64)
        else:
            values = self.i32[np.where(got, pos, 0) >> 2].astype(np.int64)
        return np.where(got, values, default)
