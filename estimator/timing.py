"""Latency statistics from repeated runs. Medians, because single runs on a shared machine
carry 30-70 ms outliers that wreck means (see the project's host runtime notes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import median
from typing import Any


@dataclass(frozen=True)
class Burst:
    """How long one short burst of timed runs lasts: at least ``min_runs`` runs and
    ``min_s`` seconds, at most ``max_runs`` runs or ``max_s`` seconds (whichever ends it
    first), after one untimed run that warms the caches the models timed in between used."""

    min_runs: int = 5
    min_s: float = 0.01
    max_s: float = 0.15
    max_runs: int = 100


@dataclass
class Timing:
    median_ms: float
    p10_ms: float | None
    p90_ms: float | None
    runs: int
    mean_ms: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def columns(self) -> dict[str, Any]:
        """The database's timing columns for this result."""
        return {
            "median_ms": self.median_ms,
            "p10_ms": self.p10_ms,
            "p90_ms": self.p90_ms,
            "mean_ms": self.mean_ms,
            "runs": self.runs,
            "stats": self.extra,
        }


def percentile(sorted_values: list[float], q: float) -> float:
    """Linear-interpolated percentile of an already sorted list."""
    if not sorted_values:
        raise ValueError("no samples")
    pos = (len(sorted_values) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def summarize(samples_ms: list[float], **extra: Any) -> Timing:
    s = sorted(samples_ms)
    return Timing(
        median_ms=median(s),
        p10_ms=percentile(s, 0.10),
        p90_ms=percentile(s, 0.90),
        runs=len(s),
        mean_ms=sum(s) / len(s),
        extra=extra,
    )


def is_stable(samples_ms: list[float], tolerance: float = 0.02) -> bool:
    """True when the median of the later half agrees with the earlier half's within tolerance."""
    n = len(samples_ms)
    if n < 10:
        return False
    a, b = median(samples_ms[: n // 2]), median(samples_ms[n // 2 :])
    return abs(a - b) <= tolerance * max(a, b)
