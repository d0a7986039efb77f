"""Build the benchmark database: make each work item's model, time it, commit the result.

One result per transaction, skipping what the device profile already has, is what makes a
build resumable after Ctrl-C, a crash or an unplugged phone. A failure that is the same for
every item (a runtime that cannot start, a generator that cannot run) stops the build at once
and keeps nothing of it as "failed", so a rerun after the fix measures everything.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..db import Database
from ..devices import Device, DeviceProfile, Interleaving, KernelProfiler
from ..devices.adb import DeviceLost
from ..errors import LetiError
from ..generate import netgen, real
from ..generate.pairs import middle_probes, sample_pairs
from ..generate.suites import KERNEL_SUITES, dedupe, from_model, grid_configs, suite_configs
from ..generate.work import (
    WorkItem,
    extracted_items,
    fusion_item,
    network_item,
    op_item,
    zoo_item,
)
from ..graph import ModelGraph, read_model
from ..timing import Timing
from . import drift
from .claims import LEASE_S, Claims
from .context import fusion_probe, in_context, op_in_context
from .measure import ROUNDS, measure_interleaved, record_model_measurement

# Producer -> consumer pairs each suite probes for fusion (every combination at least once).
FUSION_PROBES = {"default": 54, "full": 108}
# Suites that also probe element-wise ops in the middle of a chain (generate.pairs.Middle).
MIDDLE_SUITES = ("default", "full")
# Builds of at least this many items time the drift reference set now and then.
CHECKPOINTS_FROM = 20
# A build whose first items all fail for the same reason is broken, not unlucky.
SYSTEMIC_AFTER = 5
# Before any item of a kind is timed, how much longer it is expected to take than a single op.
PRIOR_COST = {"op": 1.0, "extracted": 1.0, "network": 6.0, "fusion": 3.0, "profiled": 20.0}


@dataclass(frozen=True)
class SourceModel:
    """A real model whose every op a build measures: its name and bytes, and its graph when
    the caller has parsed it already (the viewer's upload), so the planner parses it at most
    once, for the configurations and the ops it cuts out alike."""

    name: str
    data: bytes
    graph: ModelGraph | None = None

    @classmethod
    def of(cls, model: str | Path | SourceModel) -> SourceModel:
        """A file (parsed first, for its one-line error when it is no model), or a model
        already in memory."""
        if isinstance(model, SourceModel):
            return model
        graph = read_model(model)
        return cls(str(model), Path(model).read_bytes(), graph)

    def parsed(self) -> ModelGraph:
        return self.graph if self.graph is not None else read_model(self.data, self.name)


@dataclass
class Plan:
    items: list[WorkItem]
    suite: str | None
    sources: list[str]
    notes: list[str] = field(default_factory=list)


def make_plan(
    suite: str | None = "smoke",
    models: Sequence[str | Path | SourceModel] | None = None,
    grids: list[str] | None = None,
    adaptive_report: dict[str, Any] | None = None,
    adaptive: int = 0,
    zoo_models: list[str] | None = None,
) -> Plan:
    """What a build measures: a suite's ops and networks, grids, every op of real models,
    ``adaptive`` random configurations shared out by a trained estimator's error, and zoo
    models to profile kernel by kernel on a phone's GPU."""
    from ..generate.suites import adaptive as adaptive_configs

    configs, sources, notes, nets, cuts, probes = [], [], [], [], [], []
    if suite in KERNEL_SUITES:
        from .. import zoo

        nets = [zoo_item(name, size) for name, size in zoo.shipped(224)]
        sources.append(f"suite:{suite}")
    elif suite:
        configs += suite_configs(suite)
        # the real networks spread among the generated ones, as all networks among single ops
        generated = [network_item(s) for s in netgen.suite_specs(suite)]
        nets = interleave(generated, real.suite_items(suite))
        probes = [fusion_item(p) for p in sample_pairs(FUSION_PROBES.get(suite, 0), 31)]
        if suite in MIDDLE_SUITES:
            probes += [fusion_item(m) for m in middle_probes()]
        sources.append(f"suite:{suite}")
    for grid in grids or []:
        configs += grid_configs(grid)
        sources.append(f"grid:{grid}")
    for source in map(SourceModel.of, models or []):
        graph = source.parsed()
        found, skipped = from_model(graph)
        configs += found
        cuts += extracted_items(Path(source.name).name, source.data, graph, skipped)
        sources.append(f"model:{source.name}")
        if skipped:
            notes.append(
                f"{source.name}: {len(skipped)} ops the generator cannot regenerate are cut "
                "out of the model and measured as they are"
            )
    if zoo_models:
        nets += [zoo_item(name) for name in zoo_models]
        sources.append(f"zoo:{','.join(zoo_models)}")
    if adaptive:
        if adaptive_report is None:
            raise LetiError(
                "adaptive sampling needs a trained estimator for this device",
                "run 'leti train' after a first build",
            )
        # a new seed per round, so repeated rounds keep adding new configurations
        seed = int(adaptive_report.get("data_hash") or "0", 16) % 2**31
        configs += adaptive_configs(adaptive_report["report"], adaptive, seed)
        sources.append(f"adaptive:{adaptive}")
    ops = [op_item(c) for c in dedupe(configs)]
    singles = list({i.key: i for i in ops + cuts + probes}.values())  # one item per key
    items = interleave(singles, list({n.key: n for n in nets}.values()))
    if not items:
        raise LetiError("nothing to build", "pass --suite, --grid, --from-model or --adaptive")
    return Plan(items, suite, sources, notes)


def interleave(singles: list[WorkItem], networks: list[WorkItem]) -> list[WorkItem]:
    """Networks spread evenly among the single ops: a slow spell of a shared machine then
    touches both kinds alike, and the progress estimate sees networks from the start."""
    gap = len(singles) / (len(networks) + 1)
    placed = [(float(i), x) for i, x in enumerate(singles)]
    placed += [((j + 1) * gap - 0.5, x) for j, x in enumerate(networks)]
    return [x for _, x in sorted(placed, key=lambda p: p[0])]


@dataclass
class Progress:
    """A build's progress, with an ETA that knows networks take longer than single ops."""

    device_id: str
    total: int
    done: int = 0
    measured: int = 0
    failed: int = 0
    skipped: int = 0
    current: str = ""
    started: float = field(default_factory=time.time)
    failures: list[str] = field(default_factory=list)
    remaining: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    count: dict[str, int] = field(default_factory=dict)
    others: int = 0  # items another builder of the profile measured meanwhile

    def finished(self, kind: str, seconds: float) -> None:
        self.done += 1
        self.remaining[kind] = self.remaining.get(kind, 1) - 1
        self.seconds[kind] = self.seconds.get(kind, 0.0) + seconds
        self.count[kind] = self.count.get(kind, 0) + 1

    @property
    def eta_s(self) -> float | None:
        """Remaining items of each kind times that kind's mean duration so far (a kind not
        timed yet: the single-op mean scaled by its prior)."""
        if not self.done:
            return None
        per_op = sum(self.seconds.values()) / max(
            sum(self.count[k] * PRIOR_COST.get(k, 1.0) for k in self.count), 1e-9
        )
        eta = 0.0
        for kind, left in self.remaining.items():
            if self.count.get(kind):
                eta += left * self.seconds[kind] / self.count[kind]
            else:
                eta += left * per_op * PRIOR_COST.get(kind, 1.0)
        return eta

    def to_dict(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id,
            "total": self.total,
            "done": self.done,
            "measured": self.measured,
            "failed": self.failed,
            "skipped": self.skipped,
            "current": self.current,
            "eta_s": self.eta_s,
            "elapsed_s": time.time() - self.started,
            "failures": self.failures[-20:],
        }


class SystemicFailure(LetiError):
    """Every item so far failed the same way: the build is broken, not the items."""


def run_build(
    db: Database,
    device: Device,
    plan: Plan,
    show_progress: bool = True,
    on_progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
    position: int = 0,
    lease_s: float = LEASE_S,
) -> Progress:
    """Measure everything in ``plan`` that ``device`` has not measured yet, sharing the work
    with any other builder of the same device profile on the same database."""
    device.check()
    profile = device.profile
    if any(i.kind == "profiled" for i in plan.items) and not isinstance(device, KernelProfiler):
        raise LetiError(
            f"{profile.id} cannot profile GPU kernels: the zoo suite is for a phone's GPU",
            "use --device adb:SERIAL (GPU delegate), or another suite here",
        )
    db.upsert_device(profile)
    have = db.done_keys(profile.id)
    todo = [item for item in plan.items if item.key not in have]
    prog = Progress(profile.id, total=len(todo), skipped=len(plan.items) - len(todo))
    for item in todo:
        prog.remaining[item.kind] = prog.remaining.get(item.kind, 0) + 1
    build_id = db.start_build(profile.id, plan.suite, plan.sources, prog.total)
    bar = _bar(prog.total, profile.id, show_progress, position)
    status, message = "done", ""
    reasons: list[str] = []
    checkpoints = len(todo) >= CHECKPOINTS_FROM
    claims = Claims(db, profile.id, todo, lease_s)
    window = Window(window_size(device, len(todo)))

    def settled(item: WorkItem, reason: str | None, seconds: float) -> None:
        """Count one item's outcome (a network that failed is given back for a rerun)."""
        if reason is not None and item.kind == "network":
            db.release(profile.id, [item.key], claims.owner)  # not recorded: retried later
        claims.finished(item.key)
        if reason is None:
            prog.measured += 1
        else:
            prog.failed += 1
            prog.failures.append(f"{item.label}: {reason}")
            reasons.append(reason)
            _stop_if_systemic(db, profile.id, build_id, reasons, prog.measured)
        prog.finished(item.kind, seconds)
        _tick(bar, prog, on_progress)

    def between_rounds() -> None:
        claims.renew()
        if cancel is not None and cancel.is_set():
            raise _Cancelled

    def flush() -> None:
        """Time the window's models together and record each (nothing, if cancelled)."""
        if not window.items:
            return
        prog.current = f"{len(window.items)} models in {ROUNDS} interleaved rounds"
        start = time.perf_counter()
        refs = drift.window_references() if checkpoints else {}
        models = [b.data for _, b, _ in window.items] + list(refs.values())
        assert isinstance(device, Interleaving)  # window_size is 1 on any other device
        timings = measure_interleaved(device, models, between_rounds=between_rounds)
        mine = timings[: len(window.items)]
        seen = {n: t.p10_ms or t.median_ms
                for n, t in zip(refs, timings[len(mine) :], strict=True)
                if not isinstance(t, LetiError)}  # fmt: skip
        if seen:
            window.number += 1
            drift.record(db, profile, build_id, window.number, seen, window=True)
        share = (time.perf_counter() - start) / len(window.items)
        for (item, built, made_s), t in zip(window.items, mine, strict=True):
            if seen and not isinstance(t, LetiError):
                t.extra["window"] = window.number  # its rows' drift factor: drift.row_factors
            reason = _record(db, profile, item, built, t, build_id, claims.owner)
            settled(item, reason, made_s + share)
        window.clear()

    try:
        for done, item in enumerate(claims):
            _count_others(prog, claims)
            if cancel is not None and cancel.is_set():
                status, message = "cancelled", "cancelled by the user"
                break
            if checkpoints and done % drift.EVERY == 0:
                _checkpoint(db, device, profile, build_id, done // drift.EVERY, prog)
            prog.current = item.label
            start = time.perf_counter()
            if window.size > 1 and item.kind in INTERLEAVED:
                built = _make(db, profile, item, build_id, claims.owner)
                if isinstance(built, str):
                    settled(item, built, time.perf_counter() - start)
                elif window.add(item, built, time.perf_counter() - start):
                    flush()
                continue
            reason = _measure(db, device, profile, item, build_id, claims.owner)
            settled(item, reason, time.perf_counter() - start)
        if status == "done":
            flush()
        _count_others(prog, claims)
        if checkpoints and status == "done":
            _checkpoint(db, device, profile, build_id, len(todo) // drift.EVERY + 1, prog)
    except _Cancelled:
        status, message = "cancelled", "cancelled by the user"
    except SystemicFailure as exc:
        status, message = "failed", str(exc)
        raise
    except DeviceLost as exc:
        status, message = "device-lost", str(exc)
        raise
    except KeyboardInterrupt:
        status, message = "interrupted", "interrupted; rerun to resume"
        raise
    except BaseException as exc:
        status, message = "crashed", f"{type(exc).__name__}: {exc}"
        raise
    finally:
        claims.release()  # what it holds unfinished: a window in flight among it
        if bar is not None:
            bar.close()
        counts = dict(measured=prog.measured, skipped=prog.skipped, failed=prog.failed)
        db.finish_build(build_id, status, counts, message)
        prog.current = status
        if on_progress:
            on_progress(prog)
    return prog


class _Cancelled(Exception):
    """The user cancelled the build between two rounds of a window."""


# Item kinds a device that keeps models open (devices.base.Interleaving) times in windows.
INTERLEAVED = ("op", "extracted", "network")
WINDOW_ITEMS = 64  # at most this many models timed together...
WINDOW_BYTES = 512e6  # ...and at most this many bytes of them held open at once


def window_size(device: Device, todo: int) -> int:
    """How many items a build times together: 1 (each alone, as it comes) on a device that
    cannot keep models open or times single ops in context; else up to WINDOW_ITEMS, and at
    most an eighth of the build, so that a build stopped midway has kept most of its work."""
    if not isinstance(device, Interleaving) or in_context(device):
        return 1
    return max(8, min(WINDOW_ITEMS, todo // 8))


@dataclass
class Window:
    """The items made and waiting to be timed together: (item, its model, seconds to make)."""

    size: int
    items: list[tuple[WorkItem, Any, float]] = field(default_factory=list)
    nbytes: int = 0
    number: int = 0  # windows of the build timed with their drift references so far

    def add(self, item: WorkItem, built: Any, made_s: float) -> bool:
        """Add one; whether the window is now full."""
        self.items.append((item, built, made_s))
        self.nbytes += len(built.data)
        return len(self.items) >= self.size or self.nbytes >= WINDOW_BYTES

    def clear(self) -> None:
        self.items.clear()
        self.nbytes = 0


def _count_others(prog: Progress, claims: Claims) -> None:
    """Items another builder measured meanwhile count as skipped (already in the database)."""
    for item in claims.done_by_others[prog.others :]:
        prog.skipped += 1
        prog.remaining[item.kind] = prog.remaining.get(item.kind, 1) - 1
    prog.others = len(claims.done_by_others)


def _checkpoint(
    db: Database, device: Device, profile: DeviceProfile, build_id: int, k: int, prog: Progress
) -> None:
    """Time the drift reference set (skipped, with a note, if the device cannot run it)."""
    prog.current = "timing the drift reference set"
    try:
        drift.record(db, profile, build_id, k, drift.time_reference(device))
    except DeviceLost:
        raise
    except LetiError as exc:
        prog.failures.append(f"drift reference set: {exc}")


def _stop_if_systemic(
    db: Database, device_id: str, build_id: int, reasons: list[str], measured: int
) -> None:
    if measured or len(reasons) < SYSTEMIC_AFTER or len({_shape(r) for r in reasons}) != 1:
        return
    db.forget_failures(device_id, build_id)  # not the items' fault: a rerun retries them all
    raise SystemicFailure(
        f"the first {len(reasons)} items all failed the same way: {reasons[-1]}",
        "fix that and rerun; nothing was recorded as failed",
    )


def _shape(reason: str) -> str:
    """A failure's reason without the item's own numbers and names, to compare failures."""
    import re

    tail = reason.split(": ", 1)[-1] if reason.count(": ") else reason
    return re.sub(r"[0-9]+|\([^)]*\)", "#", tail)


def _measure(
    db: Database,
    device: Device,
    profile: DeviceProfile,
    item: WorkItem,
    build_id: int,
    owner: str,
) -> str | None:
    """Make and time one item and commit the result (which ends this builder's lease on it);
    the failure's reason, or None."""
    built = _make(db, profile, item, build_id, owner)
    if isinstance(built, str):
        return built
    if item.kind == "profiled":
        return _profile(db, device, profile, item, built, owner)
    try:
        t: Timing | LetiError = _timing(device, item, built)
    except DeviceLost:
        raise
    except LetiError as exc:
        t = exc
    return _record(db, profile, item, built, t, build_id, owner)


def _make(db: Database, profile: DeviceProfile, item: WorkItem, build_id: int, owner: str) -> Any:
    """The item's model, or the reason it cannot be made (recorded as a failure, except for a
    network: a rerun tries it again)."""
    try:
        return item.make()
    except LetiError as exc:
        reason = str(exc)
        if item.kind != "network":  # a network that cannot be made is retried on a rerun
            db.add_measurement(
                **_row(profile, build_id, item), status="failed", error=reason, owner=owner
            )
        return reason


def _record(
    db: Database,
    profile: DeviceProfile,
    item: WorkItem,
    built: Any,
    t: Timing | LetiError,
    build_id: int,
    owner: str,
) -> str | None:
    """Commit an item's timing, or its failure (a network's is not recorded: a rerun tries it
    again); the failure's reason, or None."""
    if isinstance(t, LetiError):
        if item.kind != "network":
            db.add_measurement(
                **_row(profile, build_id, item),
                features=built.record,
                model_sha256=hashlib.sha256(built.data).hexdigest(),
                status="failed",
                error=str(t),
                owner=owner,
            )
        return str(t)
    if item.kind == "network":
        record_model_measurement(
            db,
            profile,
            built.data,
            t,
            name=item.key,
            kind="generated",
            spec=item.config,
            build_id=build_id,
            owner=owner,
        )
    else:
        db.add_measurement(
            **_row(profile, build_id, item),
            features=built.record,
            model_sha256=hashlib.sha256(built.data).hexdigest(),
            status="ok",
            owner=owner,
            **t.columns(),
        )
    return None


def _profile(
    db: Database,
    device: KernelProfiler,
    profile: DeviceProfile,
    item: WorkItem,
    built: Any,
    owner: str,
) -> str | None:
    """A zoo model profiled on a phone's GPU: its kernels and its end-to-end time, stored as
    the published phones' rows are (the profile trains the same way)."""
    from ..kernels.match import profiled_rows

    name = item.config["model"]
    try:
        kernels, t = device.profile_kernels(built.data)
    except DeviceLost:
        raise
    except LetiError as exc:
        db.release(profile.id, [item.key], owner)
        return str(exc)
    graph = read_model(built.data, name)
    rows, problems = profiled_rows(graph, kernels)
    sha = hashlib.sha256(built.data).hexdigest()
    prov = {
        "source": "benchmark_model --enable_op_profiling",
        "model_sha256": sha,
        "zoo": name,
        "size": item.config["size"],
        "unplaced": problems[:10],
    }
    std = t.extra.get("std_us")
    db.add_times(
        [],
        [
            {
                **r,
                "device_id": profile.id,
                "model": name,
                "source": "benchmark_model",
                "provenance": prov,
            }
            for r in rows
        ],
        [
            {
                "device_id": profile.id,
                "model": name,
                "mean_us": (t.mean_ms or t.median_ms) * 1000,
                "std_us": std,
                "flops": float(graph.totals()["flops"]),
                "size_bytes": float(len(built.data)),
                "source": "benchmark_model",
                "provenance": prov,
            }
        ],
    )
    db.release(profile.id, [item.key], owner)
    return None


def _timing(device: Device, item: WorkItem, built: Any) -> Timing:
    """Alone, in context (an op on a device with per-run overhead), or a fusion probe."""
    if item.kind == "fusion":
        return fusion_probe(device, item)
    if item.kind == "op" and in_context(device):
        return op_in_context(device, item)
    return device.measure(built.data)


def _row(profile: DeviceProfile, build_id: int, item: WorkItem) -> dict[str, Any]:
    """The provenance columns every single-op measurement row carries."""
    return dict(
        device_id=profile.id,
        runtime=profile.runtime,
        runtime_version=profile.runtime_version,
        delegate=profile.delegate,
        threads=profile.threads,
        build_id=build_id,
        config_key=item.key,
        op_type=item.op,
        config=item.config,
        source=item.source,
    )


def _bar(total: int, label: str, show: bool, position: int) -> Any:
    if not show:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=label, unit="model", position=position, dynamic_ncols=True)


def _tick(bar: Any, prog: Progress, on_progress: Callable[[Progress], None] | None) -> None:
    if bar is not None:
        bar.set_postfix_str(prog.current[:40] + (f" failed={prog.failed}" if prog.failed else ""))
        bar.update(1)
    if on_progress:
        on_progress(prog)
