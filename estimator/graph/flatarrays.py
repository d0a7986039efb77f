"""Flatbuffers as typed numpy arrays, with table fields, vectors and scalars read for many
tables — of many files — at once: what the column reader (:mod:`.columns`) gathers with.

Many files are read as one: each keeps its own range of *positions* (as if the files were laid
end to end, each at a multiple of 8), so every flatbuffer offset keeps its meaning, and one
numpy call reads a field of every table of every file. Only the files' metadata is copied
together: the bytes of large weight buffers (tens of megabytes over a batch, never read) are
left out as *holes*, and a position is mapped to the copy by subtracting the holes before it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_EMPTY = np.zeros(0, np.int64)
_PAGE = 11  # log2 of the bytes of a page of positions (see FlatArrays._pages)


def within(lengths: np.ndarray) -> np.ndarray:
    """Each element's index within its own list, for lists of these lengths laid end to end
    (the ragged counterpart of ``arange``: [2, 3] → [0, 1, 0, 1, 2])."""
    return np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)


class FlatArrays:
    """Typed views of one or more flatbuffers, and vectorised table access over them."""

    def __init__(
        self,
        data: np.ndarray,
        bases: np.ndarray,
        sizes: np.ndarray,
        hole_at: np.ndarray | None = None,
        hole_cum: np.ndarray | None = None,
    ) -> None:
        self.u8 = data
        self.u16 = data[: len(data) // 2 * 2].view(np.uint16)
        self.i32 = data[: len(data) // 4 * 4].view(np.int32)
        self.u32 = self.i32.view(np.uint32)
        self.bases = bases  # each file's first position
        self.sizes = sizes  # each file's length in bytes
        self.hole_at = hole_at  # sorted positions where a left-out range starts
        self.hole_cum = hole_cum  # bytes left out before hole k (k + 1 entries)
        self._page_shift: np.ndarray | None = None
        self._page_mixed = np.zeros(0, bool)

    @classmethod
    def of(cls, data: bytes) -> FlatArrays:
        """One file, viewed in place (nothing copied)."""
        return cls(np.frombuffer(data, np.uint8), np.zeros(1, np.int64),
                   np.array([len(data)], np.int64))  # fmt: skip

    @classmethod
    def joined(cls, files: list[bytes], holes: list[tuple[np.ndarray, np.ndarray]]) -> FlatArrays:
        """Many files as one range of positions; ``holes[i]`` are the (starts, ends) of byte
        ranges of file i (multiples of 8, sorted, disjoint) that no read will touch, left out
        of the copy."""
        sizes = np.array([len(f) for f in files], np.int64)
        spans = (sizes + 7) // 8 * 8
        bases = np.cumsum(spans) - spans
        pieces: list[bytes | memoryview] = []
        at, cut = [], []
        for f, h, n, span, base in zip(files, holes, sizes.tolist(), spans.tolist(),
                                       bases.tolist(), strict=True):  # fmt: skip
            view = memoryview(f)
            starts, ends = [0, *h[1].tolist()], [*h[0].tolist(), n]
            pieces += [view[s:e] for s, e in zip(starts, ends, strict=True)]
            pieces.append(bytes(span - n))
            at.append(base + h[0])
            cut.append(h[1] - h[0])
        data = np.frombuffer(b"".join(pieces), np.uint8)
        hole_at = np.concatenate(at) if at else _EMPTY
        if not len(hole_at):
            return cls(data, bases, sizes)
        hole_cum = np.concatenate([[0], np.cumsum(np.concatenate(cut))])
        return cls(data, bases, sizes, hole_at, hole_cum)

    def _at(self, pos: np.ndarray) -> np.ndarray:
        """Where positions lie in the copy: the bytes left out before each."""
        if self.hole_at is None:
            return pos
        if self._page_shift is None:
            self._pages()
        page = pos >> _PAGE
        shift = self._page_shift[page]
        mixed = self._page_mixed[page]
        if mixed.any():  # a page where a hole starts or ends: searched
            shift[mixed] = self.hole_cum[np.searchsorted(self.hole_at, pos[mixed], "right")]
        return pos - shift

    def _pages(self) -> None:
        """Per page of positions, the bytes left out before it, and whether a hole starts or
        ends inside it (then its positions are searched): one lookup for most positions, not
        a binary search over every hole of the batch."""
        assert self.hole_at is not None and self.hole_cum is not None
        pages = int((self.bases[-1] + self.sizes[-1]) >> _PAGE) + 1
        cut = np.diff(self.hole_cum)
        # a page no hole starts in: the holes before it are those starting on earlier pages
        self._page_shift = np.cumsum(np.bincount((self.hole_at >> _PAGE) + 1, cut, pages))
        self._page_shift = self._page_shift[:pages].astype(np.int64)
        ends = self.hole_at + cut
        self._page_mixed = np.zeros(pages + 1, bool)
        self._page_mixed[self.hole_at >> _PAGE] = True
        self._page_mixed[ends >> _PAGE] = True

    def u8_at(self, pos: np.ndarray) -> np.ndarray:
        return self.u8[self._at(pos)]

    def file_of(self, pos: np.ndarray) -> np.ndarray:
        """The file each position lies in (-1: beyond every file's end)."""
        f = np.searchsorted(self.bases, pos, side="right") - 1
        return np.where(pos < (self.bases + self.sizes)[f], f, -1)

    def fields(self, tables: np.ndarray, n: int) -> np.ndarray:
        """[tables x n] absolute positions of each table's first n fields (0: absent)."""
        return self.fields_at(tables, range(n))[0]

    def fields_at(self, tables: np.ndarray, which: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """[tables x len(which)] positions of the fields numbered ``which`` (0: absent), and
        where they lie in the copy (a table is never cut by a hole: one mapping per table,
        not per field), for reads that skip the mapping."""
        at = self._at(tables)
        vt = self._at(tables - self.i32[at >> 2])  # nor is a vtable
        size = self.u16[vt >> 1]
        slots = 4 + 2 * np.asarray(which)
        ok = slots[None, :] < size[:, None]
        offs = np.where(ok, self.u16[np.where(ok, vt[:, None] + slots, vt[:, None]) >> 1], 0)
        offs = offs.astype(np.int64)
        got = offs > 0
        return np.where(got, tables[:, None] + offs, 0), np.where(got, at[:, None] + offs, 0)

    def deref(self, pos: np.ndarray, at: np.ndarray | None = None) -> np.ndarray:
        at = self._at(pos) if at is None else at
        return pos + self.u32[at >> 2].astype(np.int64)

    def _vectors(self, pos: np.ndarray, at: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
        present = pos > 0
        vec = np.where(present, self.deref(pos, at), 0)
        vat = self._at(vec)
        length = np.where(present, self.u32[vat >> 2], 0).astype(np.int64)
        return vec + 4, vat + 4, length

    def vectors(self, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(element start, length) of the vectors referenced at ``pos`` (0: absent, empty)."""
        start, _, length = self._vectors(pos)
        return start, length

    def _elements(self, pos: np.ndarray, at: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
        """Positions (and where they lie in the copy: a vector is never cut by a hole) of
        the 4-byte elements of the vectors at ``pos``, flattened, and the vectors' lengths."""
        start, at, length = self._vectors(pos, at)
        owner = np.repeat(np.arange(len(pos)), length)
        inside = 4 * within(length)
        return start[owner] + inside, at[owner] + inside, length

    def tables(self, pos: np.ndarray, at: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """The tables of the vectors of tables at ``pos``, flattened, and how many each has
        (``at``: where ``pos`` lies in the copy, if known)."""
        slots, at, length = self._elements(pos, at)
        return slots + self.u32[at >> 2].astype(np.int64), length

    def ragged(self, pos: np.ndarray, at: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """The int32 vectors at ``pos``, flattened, and their lengths."""
        _, at, length = self._elements(pos, at)
        return self.i32[at >> 2].astype(np.int64), length

    def scalar(self, pos: np.ndarray, size: int, default: float,
               at: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
        """Scalars of ``size`` bytes (1 unsigned, 4 signed) at ``pos``, ``default`` where
        absent."""
        got = pos > 0
        where = self._at(np.where(got, pos, 0)) if at is None else at
        values = (self.u8[where] if size == 1 else self.i32[where >> 2]).astype(np.int64)
        return np.where(got, values, default)
