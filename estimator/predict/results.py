"""What an estimate says: per-node latency with its interval and source, and the model's total."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

T = TypeVar("T")


def format_ms(ms: float | None) -> str:
    """A latency with two or three significant digits, in µs below a millisecond."""
    if ms is None or not math.isfinite(ms):
        return "n/a"
    if ms == 0:
        return "0 ms"
    if ms >= 1:
        return f"{ms:.3g} ms" if ms < 1000 else f"{ms:.0f} ms"
    us = ms * 1000
    return f"{us:.3g} µs" if us >= 0.01 else f"{us:.2g} µs"


class Lazy(Sequence[T]):
    """A list built the first time it is read: an architecture search asks for thousands of
    totals and looks at the nodes of a few."""

    def __init__(self, make: Callable[[], list[T]]) -> None:
        self._make: Callable[[], list[T]] | None = make
        self._items: list[T] = []

    @property
    def items(self) -> list[T]:
        if self._make is not None:
            self._items, self._make = self._make(), None
        return self._items

    @overload
    def __getitem__(self, i: int) -> T: ...
    @overload
    def __getitem__(self, i: slice) -> list[T]: ...
    def __getitem__(self, i: int | slice) -> T | list[T]:
        return self.items[i]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, Sequence) else NotImplemented

    def __repr__(self) -> str:
        return "Lazy(...)" if self._make is not None else repr(self._items)


@dataclass
class NodeEstimate:
    subgraph: int
    index: int
    op: str
    ms: float
    interval_ms: tuple[float, float]
    share: float
    source: str  # learned | analytic | free | fused | custom
    gpu_unsupported: bool = False
    fused_activation: str = "NONE"
    flops: int = 0
    act_bytes: int = 0  # activations read and written: a phone's CPU pays them (transfer)
    patch_bytes: int = 0  # a convolution's patch matrix (features.patch_bytes; transfer)
    kind: str = ""  # what it is priced as (features.op_kind): "CONV_2D:GROUPED" is a CONV_2D
    note: str = ""
    kernel: str | None = None  # the delegate kernel it starts or is linked into (GPU profiles)

    @property
    def key(self) -> str:
        return f"{self.subgraph}:{self.index}"


@dataclass
class KernelEstimate:
    """One kernel a GPU delegate runs: its label, the graph nodes it covers (node keys, the
    one that prices it first) and its share of the total."""

    index: int
    label: str
    head: str
    nodes: list[str]
    ms: float
    interval_ms: tuple[float, float]
    priced: bool  # by a regressor of its kind (else by the composition's per-kernel cost)


@dataclass
class ModelEstimate:
    model: str
    device: str
    total_ms: float
    total_interval_ms: tuple[float, float]
    nodes: Sequence[NodeEstimate]
    invoke_overhead_ms: float = 0.0
    partitions: int = 1
    cpu_fallback_ms: float = 0.0  # the nodes a GPU delegate hands back to the CPU
    calibrated: bool = True
    estimator: dict[str, Any] = field(default_factory=dict)
    subgraphs: Sequence[str] = field(default_factory=list)
    analytic_ms: float | None = None  # priced by no regressor (analytic or custom fallback)
    kernels: Sequence[KernelEstimate] | None = None  # GPU profiles learned kernel by kernel

    def slowest(self, k: int = 10) -> list[NodeEstimate]:
        return sorted(self.nodes, key=lambda n: n.ms, reverse=True)[:k]

    @property
    def analytic_share(self) -> float:
        """Share of the predicted total priced by no regressor (analytic or custom fallback)."""
        if self.total_ms <= 0:
            return 0.0
        if self.analytic_ms is not None:
            return self.analytic_ms / self.total_ms
        return sum(n.ms for n in self.nodes if n.source in ("analytic", "custom")) / self.total_ms
