"""How one work item is timed on a device: alone, in context, or as a fusion probe.

On a GPU every single-op model pays the runtime's dispatch and synchronisation (0.04 ms on an
H100 where the op itself may take 0.005), so summed single-op timings are 10-20x a whole
model. In context, an op's cost is the slope of the time of models holding 1, 2, 4 and 8
copies of it; the intercept is the per-run overhead a whole model pays once. A fusion probe
times producer A, consumer B and A->B (each in context on such devices): when A->B costs
what A costs, the runtime folds B into A, and B is free inside a network.
"""

from __future__ import annotations

import numpy as np

from ..devices import Device, Interleaving, device_kind
from ..errors import LetiError
from ..generate.work import WorkItem
from ..timing import Timing

COPIES = (1, 2, 4, 8)


def in_context(device: Device) -> bool:
    """Whether ``device`` times single ops in context: a fact of its kind, in the registry."""
    return device_kind(device.profile.kind).in_context


def slope(device: Device, item: WorkItem, part: str = "op") -> tuple[float, float, Timing]:
    """(per-copy cost, intercept, the single copy's timing) from 1, 2, 4, 8 copies."""
    assert item.variant is not None
    timings = [device.measure(item.variant(part, n)) for n in COPIES]
    medians = np.array([t.median_ms for t in timings])
    b, a = np.polyfit(np.array(COPIES, float), medians, 1)
    return float(b), float(a), timings[0]


def op_in_context(device: Device, item: WorkItem) -> Timing:
    """The op's cost inside a network (the slope), with the fit kept in the stats."""
    b, a, alone = slope(device, item)
    cost = max(b, 0.02 * alone.median_ms, 1e-4)  # a log-space regressor needs it positive
    return Timing(
        median_ms=cost,
        p10_ms=None,
        p90_ms=None,
        runs=alone.runs,
        mean_ms=None,
        extra={
            "context": {
                "copies": list(COPIES),
                "slope_ms": b,
                "intercept_ms": a,
                "alone_ms": alone.median_ms,
            },
            **alone.extra,
        },
    )


def fusion_probe(device: Device, item: WorkItem) -> Timing:
    """What consumer B adds after producer A (or between two ops: a middle probe), as a share
    of B's own cost. On a device that keeps models open the three parts are timed in
    interleaved rounds, each keeping its fastest round's p10, as a build times its items: B
    is often a few microseconds against tens for A, and one burst each let a slow spell of the
    2-core host read as B costing 2x (a LOGISTIC probe, 2026-12-07)."""
    assert item.variant is not None
    parts = ("a", "b", "ab")
    if in_context(device):
        a, b, ab = (slope(device, item, part)[0] for part in parts)
    elif isinstance(device, Interleaving):
        from .measure import measure_interleaved

        timed = []
        for t in measure_interleaved(device, [item.variant(part, 1) for part in parts]):
            if isinstance(t, LetiError):
                raise t
            timed.append(t.p10_ms or t.median_ms)
        a, b, ab = timed
    else:
        a, b, ab = (device.measure(item.variant(part, 1)).median_ms for part in parts)
    extra = ab - a
    ratio = extra / b if b > 0 else 1.0
    return Timing(
        median_ms=max(extra, 1e-4),
        p10_ms=None,
        p90_ms=None,
        runs=0,
        mean_ms=None,
        extra={
            "fusion": {
                "producer_ms": a,
                "consumer_ms": b,
                "pair_ms": ab,
                "consumer_share": ratio,
                "in_context": in_context(device),
            }
        },
    )
