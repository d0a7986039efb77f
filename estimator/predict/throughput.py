"""A device's analytic cost model: fixed overhead + FLOPs / rate + bytes / bandwidth.

Fitted from the device's own measurements (``learn.throughput``), it prices op types no
regressor has seen, custom ops, and GPU<->CPU copies; before any calibration, a few-second
micro-benchmark gives it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Throughput:
    overhead_ms: float
    flops_per_ms: float
    bytes_per_ms: float
    samples: int
    log_residual_q10: float = -0.7
    log_residual_q90: float = 0.7
    source: str = "database"

    def predict_ms(self, flops: float, nbytes: float) -> float:
        return self.overhead_ms + flops / self.flops_per_ms + nbytes / self.bytes_per_ms

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
