"""Drift control: a shared 2-core machine (or a warm phone) runs 10-25 % slower at some moments
than at others, and a model's timing moves with it. A small fixed reference set — the same
five models every time — is timed at the start of a build, every few hundred items, at its
end, and around an evaluation's truth; the ratio of its timings to the profile's usual ones
says how fast the device is running at that moment. Training divides every measurement by
the factor of its moment; evaluation reports errors raw and normalised, and says when the
device is in another state than when it was calibrated.

On a device that times its items in windows (the host), three of the references are also
timed inside every window, in the same rounds as its items (:data:`WINDOW_REFERENCES`): a
window's rows are divided by its own references' factor, and the usual timing is the
device's fast state (:func:`baseline`), not the median moment of its builds.
"""

from __future__ import annotations

import bisect
from functools import cache
from statistics import median
from typing import Any

from ..db import Database
from ..devices import Device, DeviceProfile, Interleaving
from ..errors import LetiError
from ..timing import percentile

PREFIX = "REFERENCE:"
EVERY = 250  # items between two checkpoints of a build
# The references timed inside each window of a host build: a compute-bound conv, a
# memory-bound depthwise conv and a small network (the dense and the add moved least between
# the host's two speed states on 2026-12-07: 0.086 -> 0.090 ms and 0.026 -> 0.029 ms).
WINDOW_REFERENCES = ("conv", "depthwise", "network")
# A profile with in-window references takes this quantile of each reference's timings as
# its usual one: the device's fast state, which the truth (the fastest of its rounds) sees.
FAST_QUANTILE = 0.1
DIFFERENT_STATE = 0.06  # a factor this far from 1 means another device state


@cache
def reference_models() -> dict[str, bytes]:
    """Compute- and memory-bound single ops and one small network, built by the builder."""
    from ..generate import netgen
    from ..generate.layers import Net

    def single(build) -> bytes:
        net = Net(seed=7)
        build(net)
        return net.build(description="leti-view drift reference")

    return {
        "conv": single(lambda n: n.output(n.conv(n.input([1, 56, 56, 32]), 64, 3))),
        "depthwise": single(lambda n: n.output(n.depthwise(n.input([1, 112, 112, 32]), 3))),
        "dense": single(lambda n: n.output(n.dense(n.input([1, 1280]), 1000))),
        "add": single(
            lambda n: n.output(n.binary("ADD", n.input([1, 56, 56, 64]), n.input([1, 56, 56, 64])))
        ),  # fmt: skip
        "network": netgen.build(dict(family="mobilenet", res=96, width=16, depth=3, seed=7)),
    }


# The name suffix of a reference timed in interleaved rounds (its fastest round's p10): such
# timings are compared only with their own kind, never with one-burst medians of older builds.
ROUNDS_SUFFIX = ":rounds"


def time_reference(device: Device) -> dict[str, float]:
    """The reference set timed now: on a device that keeps models open, in interleaved rounds,
    each model's fastest round's p10 (named ``<name>:rounds``), as a build times its items;
    elsewhere each model's median of one burst. Timed in one burst each, one 2026-12-06
    build's checkpoints spread 1.4-1.9x from fastest to slowest on the 2-core host, and a
    slow spell of a few seconds at a checkpoint moved the factor of the 250 items around it
    (divided by up to 1.3, they read faster than the machine ever ran)."""
    from .measure import measure_interleaved

    models = reference_models()
    if not isinstance(device, Interleaving):
        return {name: device.measure(data).median_ms for name, data in models.items()}
    out = {}
    for name, t in zip(models, measure_interleaved(device, list(models.values())), strict=True):
        if isinstance(t, LetiError):
            raise t
        out[name + ROUNDS_SUFFIX] = t.p10_ms or t.median_ms
    return out


def window_references() -> dict[str, bytes]:
    """The references a build times inside each window, named as timed there (in rounds)."""
    models = reference_models()
    return {name + ROUNDS_SUFFIX: models[name] for name in WINDOW_REFERENCES}


def record(db: Database, profile: DeviceProfile, build_id: int, checkpoint: int,
           timings: dict[str, float], window: bool = False) -> None:  # fmt: skip
    """Store a checkpoint's reference timings, or (``window``) those timed inside window
    number ``checkpoint`` of the build."""
    where = {"window" if window else "checkpoint": checkpoint}
    mark = f"w{checkpoint}" if window else str(checkpoint)
    for name, ms in timings.items():
        db.add_measurement(
            device_id=profile.id, config_key=f"ref-{build_id}-{mark}-{name}",
            op_type=PREFIX + name, config={"build": build_id, **where},
            source="reference", status="ok", median_ms=ms, runs=0, stats={},
            runtime=profile.runtime, runtime_version=profile.runtime_version,
            delegate=profile.delegate, threads=profile.threads, build_id=build_id,
        )  # fmt: skip


def baseline(rows: list[dict[str, Any]]) -> dict[str, float]:
    """The profile's usual reference timings. With references timed inside windows, each
    one's :data:`FAST_QUANTILE` over every timing recorded (the fast state: on 2026-12-07
    the host's conv reference read 1.096-1.099 ms in it and 1.16-1.50 ms out of it, and a
    build spent 2 to 9 of its 12 checkpoints out of it); else, as builds before them were
    trained, the median of every checkpoint (a few checkpoints, 40 s apart, cannot say which
    state the items between them were timed in)."""
    by_name: dict[str, list[float]] = {}
    windows = False
    for r in rows:
        if r["op_type"].startswith(PREFIX):
            by_name.setdefault(r["op_type"][len(PREFIX) :], []).append(r["median_ms"])
            windows = windows or "window" in (r.get("config") or {})
    if windows:
        return {name: percentile(sorted(v), FAST_QUANTILE) for name, v in by_name.items()}
    return {name: median(v) for name, v in by_name.items()}


def factor(now: dict[str, float], base: dict[str, float]) -> float | None:
    """How much slower than usual the device runs now (1.0: as usual)."""
    ratios = [now[n] / base[n] for n in now if base.get(n)]
    return median(ratios) if ratios else None


def _epoch(stamp: str) -> float:
    import datetime as dt

    return dt.datetime.fromisoformat(stamp).timestamp()


def row_factors(refs: list[dict[str, Any]], rows: list[dict[str, Any]]) -> list[float | None]:
    """Each row's drift factor (single ops and whole models alike): that of the references
    timed inside its window (its ``stats["window"]``), where they were; else the mean of the
    reference checkpoints of its build just before and just after it; None without
    either. (The
    least of two checkpoints on each side, the way an evaluation takes the least of its
    rounds', was tried on 2026-12-07's two interleaved builds: the composition's
    cross-validated error went 7.02 -> 6.85 % on one and 7.53 -> 8.22 % on the other.)"""
    base = baseline(refs)
    checkpoints: dict[int, dict[int, dict[str, tuple[float, float]]]] = {}
    windows: dict[tuple[int, int], dict[str, float]] = {}
    for r in refs:
        if not r["op_type"].startswith(PREFIX):
            continue
        name, at = r["op_type"][len(PREFIX) :], (r.get("config") or {}).get("window")
        if at is not None:
            windows.setdefault((r["build_id"], at), {})[name] = r["median_ms"]
        elif r["build_id"] is not None:
            build = checkpoints.setdefault(r["build_id"], {})
            per = build.setdefault(r["config"]["checkpoint"], {})
            per[name] = (r["median_ms"], _epoch(r["measured_at"]))
    marks: dict[int, tuple[list[float], list[float]]] = {}
    for build, ks in checkpoints.items():
        points = []
        for t in ks.values():
            f = factor({n: v for n, (v, _) in t.items()}, base)
            if f is not None:
                points.append((max(s for _, s in t.values()), f))
        points.sort()
        marks[build] = ([p[0] for p in points], [p[1] for p in points])
    out: list[float | None] = []
    for r in rows:
        mine = windows.get((r.get("build_id"), (r.get("stats") or {}).get("window")))
        if mine:
            out.append(factor(mine, base))
            continue
        got = marks.get(r.get("build_id"))
        if not got or not got[0]:
            out.append(None)
            continue
        stamps, values = got
        j = bisect.bisect_left(stamps, _epoch(r["measured_at"]))
        near = values[max(j - 1, 0) : j + 1]
        out.append(sum(near) / len(near))
    return out


def quiet_factor(factors: list[float]) -> float | None:
    """The device's state over an evaluation's rounds: the least of the factors timed before
    them, as the truth is the fastest of its rounds. On 2026-12-07 the reference set read
    1.04-1.28 of its calibration timings before the eight rounds of one truth whose models
    ran within about 2 % of the estimates; their median (1.087) would have moved every
    drift-removed error by +9 %, their least (1.041) by +4 %."""
    return min(factors) if factors else None
