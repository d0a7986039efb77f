"""Generic FlatBuffers decoding over raw bytes, one table at a time: tables, vtables, vectors
and strings, with fields named as the schema names them (:mod:`.schema_tables`) and absent
scalars read as the schema's defaults.

The column reader (:mod:`.columns`, over :mod:`.flatarrays`) reads every table of a kind at
once; this module reads the few things read one by one: a file's model table and buffers
(skeletons), and what Node and Tensor objects carry beyond the columns (names, options,
quantization). Reading with ``struct`` instead of generated accessor classes costs a fraction
of the time, and every read outside the buffer raises :class:`Truncated` with the length the
data would have needed, so a cut-off file is reported as such, with its expected size.
"""

from __future__ import annotations

import struct
from functools import cache
from typing import Any

from .schema_tables import TABLES

_U8 = struct.Struct("<B").unpack_from
_U16 = struct.Struct("<H").unpack_from
_I32 = struct.Struct("<i").unpack_from
_U32 = struct.Struct("<I").unpack_from
_U64 = struct.Struct("<Q").unpack_from
_SLOT_STRUCTS = {n: struct.Struct(f"<{n}H").unpack_from for n in range(1, 65)}
# struct codes and sizes of the schema's scalar types
SCALARS = {
    "bool": ("?", 1), "int8": ("b", 1), "uint8": ("B", 1), "int16": ("h", 2), "uint16": ("H", 2),
    "int32": ("i", 4), "uint32": ("I", 4), "int64": ("q", 8), "uint64": ("Q", 8),
    "float32": ("f", 4), "float64": ("d", 8),
}  # fmt: skip


class Truncated(Exception):
    """A read past the end of the buffer; ``needed`` is the length it would have taken."""

    def __init__(self, needed: int) -> None:
        super().__init__(f"needs at least {needed} bytes")
        self.needed = needed


def _check(data: bytes, pos: int, size: int) -> None:
    if pos < 0:
        raise ValueError(f"offset {pos} before the start")
    if pos + size > len(data):
        raise Truncated(pos + size)


def u8(data: bytes, pos: int) -> int:
    _check(data, pos, 1)
    return data[pos]


def u16(data: bytes, pos: int) -> int:
    _check(data, pos, 2)
    return _U16(data, pos)[0]


def i32(data: bytes, pos: int) -> int:
    _check(data, pos, 4)
    return _I32(data, pos)[0]


def u32(data: bytes, pos: int) -> int:
    _check(data, pos, 4)
    return _U32(data, pos)[0]


def u64(data: bytes, pos: int) -> int:
    _check(data, pos, 8)
    return _U64(data, pos)[0]


def root(data: bytes) -> int:
    """Position of the root table."""
    return u32(data, 0)


def deref(data: bytes, pos: int) -> int:
    """Follow the offset stored at ``pos`` (to a table, vector or string)."""
    return pos + u32(data, pos)


@cache
def slots(table: str) -> dict[str, int]:
    """The field numbers of a schema table, by field name."""
    return {f[0]: n for n, f in enumerate(TABLES[table]) if f is not None}


def fields(data: bytes, table: int, n: int) -> list[int]:
    """Positions of a table's first ``n`` fields (0 when absent), from one vtable read."""
    vtable = table - i32(data, table)
    have = min(n, (u16(data, vtable) - 4) // 2)
    if have > 0:
        _check(data, vtable + 4, 2 * have)
        offs = _SLOT_STRUCTS[have](data, vtable + 4)
    else:
        offs = ()
    return [table + o if o else 0 for o in offs] + [0] * (n - max(have, 0))


def named(data: bytes, table: int, kind: str, *names: str) -> list[int]:
    """Positions (0: absent) of the fields of a ``kind`` table named ``names``."""
    numbers = slots(kind)
    which = [numbers[n] for n in names]
    at = fields(data, table, max(which) + 1)
    return [at[w] for w in which]


def scalar(data: bytes, pos: int, kind: str, field: str) -> Any:
    """The value of a ``kind`` table's scalar field whose position is ``pos`` (0: absent, the
    schema's default)."""
    layout = TABLES[kind][slots(kind)[field]]
    assert layout is not None
    if not pos:
        return layout[2]
    code, size = SCALARS[layout[1]]
    _check(data, pos, size)
    return struct.unpack_from("<" + code, data, pos)[0]


def vector(data: bytes, pos: int) -> tuple[int, int]:
    """(start of the elements, element count) of the vector referenced at field ``pos``."""
    vec = deref(data, pos)
    return vec + 4, u32(data, vec)


def tables(data: bytes, pos: int) -> list[int]:
    """Positions of the tables in the vector of tables referenced at field ``pos``."""
    if not pos:
        return []
    start, n = vector(data, pos)
    _check(data, start, 4 * n)
    offs = struct.unpack_from(f"<{n}I", data, start)
    return [start + 4 * i + o for i, o in enumerate(offs)]


def int32s(data: bytes, pos: int) -> list[int]:
    """The int32 vector referenced at field ``pos`` (empty when absent)."""
    return numbers(data, pos, "i")


def numbers(data: bytes, pos: int, code: str, limit: int | None = None) -> list[Any]:
    """The scalar vector (``struct`` code ``code``) referenced at field ``pos``, its first
    ``limit`` elements if given (empty when absent)."""
    if not pos:
        return []
    start, n = vector(data, pos)
    n = n if limit is None else min(n, limit)
    _check(data, start, struct.calcsize("<" + code) * n)
    return list(struct.unpack_from(f"<{n}{code}", data, start))


def length(data: bytes, pos: int) -> int:
    """The length of the vector referenced at field ``pos`` (0 when absent)."""
    return vector(data, pos)[1] if pos else 0


def string(data: bytes, pos: int) -> str:
    """The string referenced at field ``pos`` ('' when absent)."""
    if not pos:
        return ""
    start, n = vector(data, pos)
    _check(data, start, n)
    return data[start : start + n].decode("utf-8", "replace")


def vector_bytes(data: bytes, pos: int) -> tuple[int, int]:
    """(start, length in bytes) of a ubyte vector referenced at field ``pos``, bounds-checked."""
    start, n = vector(data, pos)
    _check(data, start, n)
    return start, n


def values(data: bytes, table: int, kind: str) -> dict[str, Any]:
    """A ``kind`` table's plain values by field name, in field order: every scalar (the
    schema's default when absent), every string and non-empty scalar vector present; nested
    tables and unions are left out."""
    layout = TABLES[kind]
    at = fields(data, table, len(layout))
    out: dict[str, Any] = {}
    for pos, field in zip(at, layout, strict=True):
        if field is None:
            continue
        name, kind_of, default = field
        if kind_of in SCALARS:
            out[name] = scalar_at(data, pos, kind_of) if pos else default
        elif kind_of == "string":
            if pos:
                out[name] = string(data, pos)
        elif kind_of[1:-1] in SCALARS and pos:
            got = numbers(data, pos, SCALARS[kind_of[1:-1]][0])
            if got:
                out[name] = got
    return out


def scalar_at(data: bytes, pos: int, kind: str) -> Any:
    """The scalar of schema type ``kind`` stored at ``pos``."""
    code, size = SCALARS[kind]
    _check(data, pos, size)
    return struct.unpack_from("<" + code, data, pos)[0]
