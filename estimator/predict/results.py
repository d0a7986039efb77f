"""What an estimate says: per-node latency with its interval and source, and the model's total."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class NodeEstimate:
    subgraph: int
    index: int
    op: str
    ms: float
    interval_ms: tuple[float, float]
    share: float
    source: str  # learned | analytic | free | custom
    gpu_unsupported: bool = False
    fused_activation: str = "NONE"
    flops: int = 0
    note: str = ""

    @property
    def key(self) -> str:
        return f"{self.subgraph}:{self.index}"


@dataclass
class ModelEstimate:
    model: str
    device: str
    total_ms: float
    total_interval_ms: tuple[float, float]
    nodes: list[NodeEstimate]
    invoke_overhead_ms: float = 0.0
    partitions: int = 1
    cpu_fallback_ms: float = 0.0  # the nodes a GPU delegate hands back to the CPU
    calibrated: bool = True
    estimator: dict[str, Any] = field(default_factory=dict)
    subgraphs: list[str] = field(default_factory=list)

    def slowest(self, k: int = 10) -> list[NodeEstimate]:
        return sorted(self.nodes, key=lambda n: n.ms, reverse=True)[:k]

    @property
    def analytic_share(self) -> float:
        """Share of the predicted total priced by no regressor (analytic or custom fallback)."""
        if self.total_ms <= 0:
            return 0.0
        return sum(n.ms for n in self.nodes if n.source in ("analytic", "custom")) / self.total_ms
