"""A model's skeleton: the same flatbuffer with its large weight buffers zeroed, compressed.

The graph reader sees exactly the structure, shapes, options and buffer sizes of the original
(small integer constants, such as shapes and axes, are kept), so training reads a measured
network back from the database without regenerating it, at a few kilobytes per network.
"""

from __future__ import annotations

import zlib

from . import flatbuffers as fb

KEEP_BELOW = 1024  # bytes: small constants (shapes, axes, paddings) stay as they are


def skeleton(data: bytes) -> bytes:
    out = bytearray(data)
    model = fb.root(data)
    f_buffers = fb.fields(data, model, 5)[4]
    for table in fb.tables(data, f_buffers):
        f_data, f_offset, f_size = fb.fields(data, table, 3)
        offset = fb.u64(data, f_offset) if f_offset else 0
        if offset > 1:
            start, size = offset, fb.u64(data, f_size) if f_size else 0
        elif f_data:
            start, size = fb.vector_bytes(data, f_data)
        else:
            continue
        if size >= KEEP_BELOW:
            out[start : start + size] = bytes(size)
    return zlib.compress(bytes(out), 6)


def restore(blob: bytes) -> bytes:
    """The skeleton's flatbuffer (weights zero), ready for the graph reader."""
    return zlib.decompress(blob)
