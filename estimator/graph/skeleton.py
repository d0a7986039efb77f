"""A model's skeleton: the same flatbuffer with its large weight buffers zeroed, compressed.

The graph reader sees exactly the structure, shapes, options and buffer sizes of the original
(small integer constants, such as shapes and axes, are kept), so training reads a measured
network back from the database without regenerating it, at a few kilobytes per network.
:func:`fill` gives a skeleton random weights again, so that a runtime can time it: the
latency of dense float kernels does not depend on the weight values, and random ones (never
all zero, which a runtime could take a sparse path on) stand in for trained ones.
"""

from __future__ import annotations

import struct
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


# A compact skeleton: MAGIC, the flatbuffer's length, the number of zeroed spans, a CRC-32 of
# what follows, the spans (start, size), then the bytes outside them zlib-compressed.
# Inflating a plain zlib skeleton runs zlib over every zero of a 100 MB model (~0.3 s each:
# a third of training on the default suite); restoring a compact one inflates only the
# structure and copies the zeros in (~4x faster). Databases written before it hold plain zlib
# skeletons, which ``restore`` still reads; a leti-view older than this format cannot read
# the compact ones (it leaves those networks out of training, saying so).
MAGIC = b"LSKH"
_HEAD = struct.Struct("<4sQII")
_SPAN = struct.Struct("<QQ")


def _spans(data: bytes) -> list[tuple[int, int]]:
    """The large buffers' (start, end), sorted, overlapping ones merged."""
    out: list[list[int]] = []
    for start, end in sorted((s, s + n) for _i, s, n in _large_buffers(data)):
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return [(a, b) for a, b in out]


def skeleton(data: bytes, compress: bool = True) -> bytes:
    """The skeleton of a .tflite file: compact and compressed, or, with ``compress`` false, the
    whole flatbuffer with its large buffers zeroed (a zip archive of many compresses them
    itself)."""
    spans = _spans(data)
    if not compress:
        out = bytearray(data)
        for start, end in spans:
            out[start:end] = bytes(end - start)
        return bytes(out)
    kept, at = [], 0
    for start, end in spans:
        kept.append(data[at:start])
        at = end
    kept.append(data[at:])
    body = b"".join(_SPAN.pack(a, b - a) for a, b in spans) + zlib.compress(b"".join(kept), 6)
    return _HEAD.pack(MAGIC, len(data), len(spans), zlib.crc32(body)) + body


def restore(blob: bytes) -> bytes:
    """The skeleton's flatbuffer (weights zero), ready for the graph reader."""
    if not blob.startswith(MAGIC):
        return zlib.decompress(blob)  # a plain zlib skeleton (databases from before MAGIC)
    if len(blob) < _HEAD.size:
        raise ValueError("a compact skeleton shorter than its header")
    _magic, length, n, crc = _HEAD.unpack_from(blob)
    at = _HEAD.size
    if zlib.crc32(blob[at:]) != crc:
        raise ValueError("a compact skeleton whose checksum does not match: it is damaged")
    spans = [_SPAN.unpack_from(blob, at + i * _SPAN.size) for i in range(n)]
    kept = zlib.decompress(blob[at + n * _SPAN.size :])
    parts, src, dst = [], 0, 0
    for start, size in spans:
        parts += [kept[src : src + start - dst], bytes(size)]
        src += start - dst
        dst = start + size
    parts.append(kept[src:])
    if len(kept) - src != length - dst:
        raise ValueError("a compact skeleton whose spans do not add up to its length")
    return b"".join(parts)


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
