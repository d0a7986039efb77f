"""Generic FlatBuffers decoding over raw bytes: tables, vtables, vectors and strings.

Nothing here knows TFLite; the reader names the fields. Reading fields with ``struct`` instead
of the generated accessor classes costs a fraction of the time (a 250-op model has some
thousand tables), and every read outside the buffer raises :class:`Truncated` with the length
the data would have needed, so a cut-off file is reported as such, with its expected size.
"""

from __future__ import annotations

import struct

_U8 = struct.Struct("<B").unpack_from
_U16 = struct.Struct("<H").unpack_from
_I32 = struct.Struct("<i").unpack_from
_U32 = struct.Struct("<I").unpack_from
_U64 = struct.Struct("<Q").unpack_from
_SLOT_STRUCTS = {n: struct.Struct(f"<{n}H").unpack_from for n in range(1, 33)}


class Truncated(Exception):
    """A read past the end of the buffer; ``needed`` is the length it would have taken."""

    def __init__(self, needed: int) -> None:
        super().__init__(f"needs at least {needed} bytes")
        self.needed = needed


def _check(data: bytes, pos: int, size: int) -> None:
    if pos < 0 or pos + size > len(data):
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


def field(data: bytes, table: int, index: int) -> int:
    """Absolute position of a table's field, or 0 when the field is absent."""
    vtable = table - i32(data, table)
    slot = 4 + 2 * index
    if slot >= u16(data, vtable):
        return 0
    off = u16(data, vtable + slot)
    return table + off if off else 0


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
    if not pos:
        return []
    start, n = vector(data, pos)
    _check(data, start, 4 * n)
    return list(struct.unpack_from(f"<{n}i", data, start))


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
