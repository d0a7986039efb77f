"""A model's skeleton: the same flatbuffer with its large weight buffers zeroed, compressed.

The graph reader sees exactly the structure, shapes, options and buffer sizes of the original
(small integer constants, such as shapes and axes, are kept), so training reads a measured
network back from the database without regenerating it, at a few kilobytes per network.
:func:`fill` gives a skeleton random weights again, so that a runtime can time it: the
latency of dense float kernels does not depend on the weight values, and random ones (never
all zero, which a runtime could take a sparse path on) stand in for trained ones.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

from . import flatbuffers as fb

KEEP_BELOW = 1024  # bytes: small constants (shapes, axes, paddings) stay as they are
# TFLite TensorType codes -> numpy dtype of the random values a filled buffer gets.
_FILL_DTYPES = {0: "<f4", 1: "<f2", 2: "<i4", 3: "u1", 4: "<i8", 7: "<i2", 9: "i1"}


def _large_buffers(data: bytes) -> Iterator[tuple[int, int, int]]:
    """(buffer index, start, size) of every buffer of at least KEEP_BELOW bytes."""
    model = fb.root(data)
    f_buffers = fb.fields(data, model, 5)[4]
    for i, table in enumerate(fb.tables(data, f_buffers)):
        f_data, f_offset, f_size = fb.fields(data, table, 3)
        offset = fb.u64(data, f_offset) if f_offset else 0
        if offset > 1:
            start, size = offset, fb.u64(data, f_size) if f_size else 0
        elif f_data:
            start, size = fb.vector_bytes(data, f_data)
        else:
            continue
        if size >= KEEP_BELOW:
            yield i, start, size


def skeleton(data: bytes, compress: bool = True) -> bytes:
    """The skeleton of a .tflite file, zlib-compressed unless ``compress`` is false (a zip
    archive of many compresses them itself)."""
    out = bytearray(data)
    for _i, start, size in _large_buffers(data):
        out[start : start + size] = bytes(size)
    return zlib.compress(bytes(out), 6) if compress else bytes(out)


def restore(blob: bytes) -> bytes:
    """The skeleton's flatbuffer (weights zero), ready for the graph reader."""
    return zlib.decompress(blob)


def buffer_types(data: bytes) -> dict[int, int]:
    """Buffer index -> TensorType code of the first tensor that holds it."""
    model = fb.root(data)
    f_subgraphs = fb.fields(data, model, 5)[2]
    out: dict[int, int] = {}
    for sg in fb.tables(data, f_subgraphs):
        for t in fb.tables(data, fb.fields(data, sg, 1)[0]):
            _shape, f_type, f_buffer = fb.fields(data, t, 3)
            buf = fb.u32(data, f_buffer) if f_buffer else 0
            out.setdefault(buf, fb.u8(data, f_type) if f_type else 0)
    return out


def fill(data: bytes, seed: int = 0) -> bytes:
    """The flatbuffer with every large buffer filled with random values of its tensor's type
    (floats uniform in ±0.1, integers small and non-zero), reproducibly from ``seed``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    types = buffer_types(data)
    out = bytearray(data)
    for i, start, size in _large_buffers(data):
        dtype = np.dtype(_FILL_DTYPES.get(types.get(i, 0), "u1"))
        n = size // dtype.itemsize
        if dtype.kind == "f":
            values = rng.uniform(-0.1, 0.1, n).astype(dtype)
            values[values == 0] = dtype.type(0.05)
        else:
            values = rng.integers(1, 8, n).astype(dtype)
        out[start : start + n * dtype.itemsize] = values.tobytes()
    return bytes(out)
