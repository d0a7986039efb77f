"""Flatbuffers as typed numpy arrays, with table fields, vectors and scalars read for many
tables — of many files — at once: what the column reader (:mod:`.columns`) decodes with.

Many files are read as one: each keeps its own range of *positions* (as if the files were laid
end to end, each at a multiple of 8), so every flatbuffer offset keeps its meaning, and one
numpy call reads a field of every table of every file. Only the files' metadata is copied
together: the bytes of large weight buffers (tens of megabytes over a batch, never read) are
left out as *holes*, and a position is mapped to the copy by subtracting the holes before it.

Fields are named as the schema names them (:mod:`.schema_tables`), absent scalars read as its
defaults, and every read is bounds-checked: one past the end raises
:class:`~.flatbuffers.Truncated` with the length it needed (for one file, the length the file
should have had).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .flatbuffers import SCALARS, Truncated, slots
from .schema_tables import TABLES

_EMPTY = np.zeros(0, np.int64)
_PAGE = 11  # log2 of the bytes of a page of positions (see FlatArrays._pages)


def within(lengths: np.ndarray) -> np.ndarray:
    """Each element's index within its own list, for lists of these lengths laid end to end
    (the ragged counterpart of ``arange``: [2, 3] → [0, 1, 0, 1, 2])."""
    return np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)


@dataclass
class Fields:
    """Where the named fields of many tables of one kind lie: ``pos`` in the files' positions
    and ``at`` in the copy (0 for both where a table lacks the field)."""

    kind: str
    names: tuple[str, ...]
    pos: np.ndarray  # [tables x fields]
    at: np.ndarray

    def __getitem__(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        k = self.names.index(name)
        return self.pos[:, k], self.at[:, k]

    def has(self, name: str) -> np.ndarray:
        return self.pos[:, self.names.index(name)] > 0


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
        size = np.array([len(data)], np.int64)
        return cls(np.frombuffer(data, np.uint8), np.zeros(1, np.int64), size)

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
        for f, h, n, span, base in zip(
            files, holes, sizes.tolist(), spans.tolist(), bases.tolist(), strict=True
        ):
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

    # --- positions ---------------------------------------------------------------------------

    def _at(self, pos: np.ndarray) -> np.ndarray:
        """Where positions lie in the copy: the bytes left out before each."""
        if self.hole_at is None:
            return pos
        if self._page_shift is None:
            self._pages()
        page = np.clip(pos >> _PAGE, 0, len(self._page_shift) - 1)  # type: ignore[arg-type]
        shift = self._page_shift[page]  # type: ignore[index]
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

    def _inside(self, at: np.ndarray, size: int) -> np.ndarray:
        """``at`` (positions in the copy), checked: reads of ``size`` bytes there lie inside."""
        if len(at):
            if int(at.min()) < 0:
                raise ValueError("an offset points before the start")
            end = int(at.max()) + size
            if end > len(self.u8):
                raise Truncated(end)
        return at

    def file_of(self, pos: np.ndarray) -> np.ndarray:
        """The file each position lies in (-1: beyond every file's end)."""
        f = np.searchsorted(self.bases, pos, side="right") - 1
        return np.where(pos < (self.bases + self.sizes)[f], f, -1)

    # --- tables and fields -------------------------------------------------------------------

    def fields(self, tables: np.ndarray, kind: str, names: tuple[str, ...]) -> Fields:
        """Where the fields ``names`` of these ``kind`` tables lie (a table is never cut by a
        hole: one mapping per table, not per field, and reads that skip the mapping)."""
        numbers = slots(kind)
        which = np.array([numbers[n] for n in names], np.int64)
        at = self._inside(self._at(tables), 4)
        vt = self._inside(self._at(tables - self.i32[at >> 2]), 2)  # nor is a vtable
        size = self.u16[vt >> 1]
        slot = 4 + 2 * which
        ok = slot[None, :] < size[:, None]
        where = self._inside(np.where(ok, vt[:, None] + slot, vt[:, None]), 2)
        offs = np.where(ok, self.u16[where >> 1], 0).astype(np.int64)
        got = offs > 0
        pos = np.where(got, tables[:, None] + offs, 0)
        return Fields(kind, tuple(names), pos, np.where(got, at[:, None] + offs, 0))

    def deref(self, pos: np.ndarray, at: np.ndarray | None = None) -> np.ndarray:
        at = self._at(pos) if at is None else at
        return pos + self.u32[self._inside(at, 4) >> 2].astype(np.int64)

    def value(self, f: Fields, name: str) -> np.ndarray:
        """The scalar field ``name`` of every table, the schema's default where absent; one-byte
        types read unsigned, four-byte ones signed, eight-byte ones as int64."""
        pos, at = f[name]
        field = TABLES[f.kind][slots(f.kind)[name]]
        assert field is not None
        size = SCALARS[field[1]][1]
        got = pos > 0
        where = self._inside(np.where(got, at, 0), size)
        if size == 1:
            values = self.u8[where].astype(np.int64)
        elif size == 4:
            values = self.i32[where >> 2].astype(np.int64)
        elif size == 8:
            lo = self.u32[where >> 2].astype(np.int64)
            values = lo | (self.u32[(where >> 2) + 1].astype(np.int64) << 32)
        else:
            raise ValueError(f"no vectorised read of {field[1]}")
        return np.where(got, values, field[2])

    # --- vectors -----------------------------------------------------------------------------

    def vectors(
        self, pos: np.ndarray, at: np.ndarray | None = None, item: int = 4
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(element start, where it lies in the copy, length) of the vectors referenced at
        ``pos`` (0: absent, empty), each checked to end inside the data."""
        present = pos > 0
        vec = np.where(present, self.deref(pos, at), 0)
        vat = self._inside(self._at(vec), 4)
        length = np.where(present, self.u32[vat >> 2], 0).astype(np.int64)
        self._inside(np.where(present, vat + 4 + item * length - 1, 0), 1)
        return vec + 4, vat + 4, length

    def _elements(
        self, pos: np.ndarray, at: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Positions (and where they lie in the copy: a vector is never cut by a hole) of
        the 4-byte elements of the vectors at ``pos``, flattened, and the vectors' lengths."""
        start, at, length = self.vectors(pos, at)
        owner = np.repeat(np.arange(len(pos)), length)
        inside = 4 * within(length)
        return start[owner] + inside, at[owner] + inside, length

    def tables(
        self, pos: np.ndarray, at: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The tables of the vectors of tables at ``pos``, flattened, and how many each has
        (``at``: where ``pos`` lies in the copy, if known)."""
        slots_, at, length = self._elements(pos, at)
        return slots_ + self.u32[at >> 2].astype(np.int64), length

    def ragged(
        self, pos: np.ndarray, at: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The int32 vectors at ``pos``, flattened, and their lengths."""
        _, at, length = self._elements(pos, at)
        return self.i32[at >> 2].astype(np.int64), length

    def text(self, pos: np.ndarray) -> list[str]:
        """The strings referenced at ``pos`` ('' where absent)."""
        start, at, length = self.vectors(pos, item=1)
        raw = self.u8
        return [
            raw[a : a + n].tobytes().decode("utf-8", "replace")
            for a, n in zip(at.tolist(), length.tolist(), strict=True)
        ]
