"""Measure whole models on a device and record them: ``leti measure``, the viewer's Measure
now, and the truth ``leti evaluate`` compares against."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any

from ..db import Database
from ..devices import Device, DeviceProfile, Interleaving, Runner
from ..errors import LetiError
from ..graph import read_model
from ..graph.skeleton import skeleton
from ..timing import Burst, Timing


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
        t = of_rounds(ts)
        rounds_kept = zip(t.extra["round_medians_ms"], t.extra["round_p10s_ms"], strict=True)
        t.median_ms = truth_value(list(rounds_kept))  # what a truth's record holds
        t.extra["statistic"] = TRUTH_STATISTIC
        out[name] = t
    return out


def of_rounds(ts: list[Timing]) -> Timing:
    """One timing from a model's rounds: the median of their medians, the fastest round's p10
    as its p10 (the statistic of the truth, and what training reads), and every round's median
    and p10 kept."""
    per_round = [t.median_ms for t in ts]
    p10s = [t.p10_ms or t.median_ms for t in ts]
    return Timing(
        median_ms=median(per_round),
        p10_ms=min(p10s),
        p90_ms=max(t.p90_ms or t.median_ms for t in ts),
        runs=sum(t.runs for t in ts),
        mean_ms=sum(t.mean_ms or t.median_ms for t in ts) / len(ts),
        extra={"round_medians_ms": per_round, "round_p10s_ms": p10s},
    )


# A build's timing on a device that keeps models open (:class:`..devices.base.Interleaving`):
# each model of a window is timed in BURST-long bursts, ROUNDS times, interleaved with the
# window's other models. On 2026-12-07's 2-core host (slow spells of 1.3-1.7x for 1-5 s, every
# few seconds), 136 items of the default suite timed twice this way agreed with themselves
# within ±10 % for 84 % of them, against 53 % timed in one adaptive burst each, in the same
# time; two whole builds estimated the frozen models 2.7 % apart (median), against 10.1 %
# (bench/build_repeatability.py, bench/compare_builds.py; docs/guide.md).
ROUNDS = 6
BURST = Burst()


def measure_interleaved(
    device: Interleaving,
    models: list[bytes],
    rounds: int = ROUNDS,
    burst: Burst = BURST,
    between_rounds: Callable[[], None] | None = None,
) -> list[Timing | LetiError]:
    """Each model's timing from ``rounds`` short bursts, every round going through all of
    ``models`` in turn (one slow spell touches one round of a model, not all of it): the
    fastest round's p10 is what training reads, as the truth is the fastest round's p10 of
    whole models (:func:`of_rounds`). A model that cannot be opened or run gets its
    LetiError instead, and the others go on. ``between_rounds`` is called after every round
    (a build renews its leases and looks for a stop there)."""
    runners: list[Runner | LetiError] = []
    try:
        for data in models:
            try:
                runners.append(device.open(data))
            except LetiError as exc:
                runners.append(exc)
        got: list[list[Timing] | LetiError] = [
            r if isinstance(r, LetiError) else [] for r in runners
        ]
        for _ in range(max(rounds, 1)):
            for k, r in enumerate(runners):
                ts = got[k]
                if isinstance(r, LetiError) or isinstance(ts, LetiError):
                    continue
                try:
                    ts.append(r.burst(burst))
                except RuntimeError as exc:  # it ran once when opened: rare, but its own
                    got[k] = LetiError(f"the model failed in a timed run: {exc}")
            if between_rounds is not None:
                between_rounds()
        return [ts if isinstance(ts, LetiError) else of_rounds(ts) for ts in got]
    finally:
        for r in runners:
            if not isinstance(r, LetiError):
                r.close()


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
