"""Measure whole models on a device and record them: ``leti measure``, the viewer's Measure
now, and the truth ``leti evaluate`` compares against."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..db import Database
from ..devices import Device, DeviceProfile
from ..graph import read_model
from ..graph.skeleton import skeleton
from ..timing import Timing


@dataclass
class Measured:
    """One model measured: its timing and the device that produced it."""

    model: str
    operators: int
    timing: Timing
    profile: DeviceProfile

    def to_dict(self) -> dict[str, Any]:
        t, p = self.timing, self.profile
        return {
            "model": self.model,
            "operators": self.operators,
            "device": p.id,
            "median_ms": t.median_ms,
            "p10_ms": t.p10_ms,
            "p90_ms": t.p90_ms,
            "mean_ms": t.mean_ms,
            "runs": t.runs,
            "device_facts": {
                "kind": p.kind,
                "delegate": p.delegate,
                "threads": p.threads,
                "runtime": p.runtime,
                "runtime_version": p.runtime_version,
                **p.fingerprint,
            },  # fmt: skip
        }


def measure_model(
    device: Device,
    path: str | Path,
    runs: int | None = None,
    db: Database | None = None,
    data: bytes | None = None,
) -> Measured:
    """Time one model end to end; with ``db``, record it as a user model measurement."""
    graph = read_model(data if data is not None else path, name=str(path))
    data = data if data is not None else Path(path).read_bytes()
    device.check()
    t = device.measure(data, runs=runs)
    if db is not None:
        record_model_measurement(db, device.profile, data, t, name=Path(path).name, kind="user")
    return Measured(str(path), len(graph.nodes), t, device.profile)


def measure_rounds(
    device: Device,
    models: dict[str, bytes],
    rounds: int,
    before_round: Callable[[int], None] | None = None,
) -> dict[str, Timing]:
    """Whole-model latency, robust to a shared machine's slow spells: every model is timed
    once per round, rounds run one after another, and the truth statistic of its rounds
    (:data:`~.repeatability.TRUTH_STATISTIC`) is kept, each round's median and p10 beside it
    so that the truth's repeatability can be measured. (On the 2-core host one model's single
    timings ranged 8.9-12.7 ms in a minute.)"""
    from .repeatability import TRUTH_STATISTIC, truth_value

    device.check()
    timings: dict[str, list[Timing]] = {name: [] for name in models}
    for k in range(max(rounds, 1)):
        if before_round is not None:
            before_round(k)
        for name, data in models.items():
            timings[name].append(device.measure(data))
    out = {}
    for name, ts in timings.items():
        per_round = [t.median_ms for t in ts]
        p10s = [t.p10_ms or t.median_ms for t in ts]
        out[name] = Timing(
            median_ms=truth_value(list(zip(per_round, p10s, strict=True))),
            p10_ms=min(p10s),
            p90_ms=max(t.p90_ms or t.median_ms for t in ts),
            runs=sum(t.runs for t in ts),
            mean_ms=sum(t.mean_ms or t.median_ms for t in ts) / len(ts),
            extra={
                "round_medians_ms": per_round,
                "round_p10s_ms": p10s,
                "statistic": TRUTH_STATISTIC,
            },
        )
    return out


def record_model_measurement(
    db: Database,
    profile: DeviceProfile,
    data: bytes,
    t: Timing,
    name: str,
    kind: str,
    spec: dict | None = None,
    build_id: int | None = None,
    owner: str | None = None,
) -> None:
    """Store a whole-model timing (kind ``generated`` for a build's networks, ``user`` else);
    ``owner``'s lease on the network ends with it."""
    graph = read_model(data, name)
    db.upsert_device(profile)
    db.add_model_measurement(
        owner=owner,
        device_id=profile.id,
        model_sha256=hashlib.sha256(data).hexdigest(),
        name=name,
        kind=kind,
        spec=spec,
        operators=len(graph.nodes),
        graph=skeleton(data),
        **t.columns(),
        runtime=profile.runtime,
        runtime_version=profile.runtime_version,
        build_id=build_id,
    )
