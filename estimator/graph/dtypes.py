"""TFLite tensor types and their sizes."""

from __future__ import annotations

# Bytes per element; INT4 packs two per byte, which is rounded up per tensor.
DTYPE_SIZES: dict[str, float] = {
    "FLOAT32": 4, "FLOAT16": 2, "BFLOAT16": 2, "FLOAT64": 8, "INT32": 4, "UINT32": 4, "INT64": 8,
    "UINT64": 8, "INT16": 2, "UINT16": 2, "INT8": 1, "UINT8": 1, "BOOL": 1, "INT4": 0.5,
    "COMPLEX64": 8, "COMPLEX128": 16, "STRING": 1, "RESOURCE": 0, "VARIANT": 0,
}  # fmt: skip


def nbytes(dtype: str, numel: int) -> int:
    return int(-(-numel * DTYPE_SIZES.get(dtype, 4) // 1))
