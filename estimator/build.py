"""Run a benchmark build: generate each configuration's model, time it, commit the result.

One result per transaction, skipping what the device profile already has, is what makes a
build resumable after Ctrl-C, a crash or an unplugged phone.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from . import netgen
from .adb import DeviceLost
from .configs import dedupe, from_model, suite_configs
from .db import Database
from .errors import LetiError
from .features import op_record
from .graph import ModelGraph, read_model
from .host import DeviceProfile
from .opgen import GenerationError, OpConfig, convert, generate, verify
from .paths import leti_home
from .timing import Timing

# TensorFlow's converter is not documented as thread-safe; phones benchmark in parallel, but
# model generation takes turns.
_GENERATE_LOCK = threading.Lock()


class Device(Protocol):
    profile: DeviceProfile

    def check(self) -> None: ...

    def measure(self, model: bytes, runs: int | None = None) -> Timing: ...


@dataclass
class Progress:
    device_id: str
    total: int
    done: int = 0
    measured: int = 0
    failed: int = 0
    skipped: int = 0
    current: str = ""
    started: float = field(default_factory=time.time)
    failures: list[str] = field(default_factory=list)

    @property
    def eta_s(self) -> float | None:
        if not self.done:
            return None
        rate = (time.time() - self.started) / self.done
        return rate * (self.total - self.done)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["eta_s"] = self.eta_s
        d["elapsed_s"] = time.time() - self.started
        d["failures"] = self.failures[-20:]
        return d


@dataclass
class Extracted:
    """One operator cut out of a real model (see :mod:`leti.estimator.extract`)."""

    key: str
    op: str
    label: str
    data: bytes
    record: dict[str, Any]
    config: dict[str, Any]


@dataclass
class Plan:
    configs: list[OpConfig]
    networks: list[dict[str, Any]]
    suite: str | None
    sources: list[str]
    notes: list[str] = field(default_factory=list)
    extracted: list[Extracted] = field(default_factory=list)


def make_plan(
    suite: str | None = "smoke",
    models: list[str] | None = None,
    grids: list[str] | None = None,
    adaptive: int = 0,
    device_id: str | None = None,
) -> Plan:
    configs: list[OpConfig] = []
    sources: list[str] = []
    notes: list[str] = []
    networks: list[dict[str, Any]] = []
    if suite:
        configs += suite_configs(suite)
        networks = netgen.suite_specs(suite)
        sources.append(f"suite:{suite}")
    for grid in grids or []:
        from . import configs as cfgmod

        fn = {"gsoc": cfgmod.gsoc_grid, "wide": cfgmod.wide_grid}.get(grid)
        if fn is None:
            raise LetiError(f"unknown grid {grid!r}", "choose gsoc or wide")
        configs += list(fn())
        sources.append(f"grid:{grid}")
    extracted: dict[str, Extracted] = {}
    for m in models or []:
        found, skipped = from_model(m)
        configs += found
        sources.append(f"model:{m}")
        for e in _extract(Path(m), skipped):
            extracted.setdefault(e.key, e)
        if skipped:
            notes.append(f"{m}: {len(skipped)} ops TensorFlow cannot regenerate are cut out "
                         "of the model and measured as they are")  # fmt: skip
    if adaptive:
        from .configs import adaptive as adaptive_configs
        from .store import read_metadata

        meta = read_metadata(device_id) if device_id else None
        if meta is None:
            raise LetiError(
                "adaptive sampling needs a trained estimator for this device",
                "run 'leti train' after a first build",
            )
        # a new seed per round, so repeated rounds keep adding new configurations
        seed = int(meta.get("data_hash") or "0", 16) % 2**31
        configs += adaptive_configs(meta["report"], adaptive, seed)
        sources.append(f"adaptive:{adaptive}")
    if not configs and not networks and not extracted:
        raise LetiError("nothing to build", "pass --suite, --grid, --from-model or --adaptive")
    return Plan(dedupe(configs), networks, suite, sources, notes, list(extracted.values()))


def _extract(path: Path, nodes: list) -> list[Extracted]:
    from .extract import extract_ops, signature

    if not nodes:
        return []
    data = path.read_bytes()
    graph = read_model(data, path.name)
    subs = extract_ops(data, graph, nodes)
    return [
        Extracted(
            key=f"x{signature(n)}",
            op=n.op,
            label=f"{n.op} (node {n.key} of {path.name})",
            data=subs[n.key],
            record=op_record(n),
            config={
                "extracted_from": path.name,
                "node": n.key,
                "inputs": [t.shape for t in n.inputs if not t.is_constant],
                "outputs": [t.shape for t in n.outputs],
            },
        )  # fmt: skip
        for n in nodes
    ]


def _cached(path: Path, make: Callable[[], bytes]) -> bytes:
    """Read a generated model from the cache, or make it (one generator at a time)."""
    if path.exists():
        return path.read_bytes()
    with _GENERATE_LOCK:
        if path.exists():  # another worker made it while we waited
            return path.read_bytes()
        data = make()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.part")
        tmp.write_bytes(data)
        tmp.replace(path)
    return data


def _op_model(cfg: OpConfig) -> tuple[bytes, dict[str, Any]]:
    """The config's model, cached on disk so other devices and reruns skip TensorFlow."""
    path = leti_home() / "cache" / "ops" / f"{cfg.op}-{cfg.key}.tflite"
    data = _cached(path, lambda: generate(cfg)[0])
    # Verifying again is cheap and guards against a cache written by another version.
    return data, op_record(verify(cfg, data))


def network_model(spec: dict[str, Any]) -> bytes:
    path = leti_home() / "cache" / "networks" / f"{spec['family']}-{netgen.spec_key(spec)}.tflite"
    return _cached(path, lambda: convert(netgen.build(spec)))


def run_build(
    db: Database,
    device: Device,
    plan: Plan,
    show_progress: bool = True,
    on_progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
    position: int = 0,
) -> Progress:
    """Measure everything in ``plan`` that ``device`` has not measured yet."""
    device.check()
    profile = device.profile
    db.upsert_device(profile)
    have = db.measured_keys(profile.id)
    todo = [c for c in plan.configs if c.key not in have]
    cuts = [e for e in plan.extracted if e.key not in have]
    have_nets = {r["name"] for r in db.model_measurements(profile.id, kind="generated")}
    nets = [s for s in plan.networks if f"gen-{netgen.spec_key(s)}" not in have_nets]
    prog = Progress(profile.id, total=len(todo) + len(cuts) + len(nets))
    prog.skipped = (
        len(plan.configs) - len(todo) + len(plan.extracted) - len(cuts)
        + len(plan.networks) - len(nets)
    )  # fmt: skip
    build_id = db.start_build(profile.id, plan.suite, plan.sources, prog.total)
    bar = _bar(prog.total, profile.id, show_progress, position)
    status, message = "done", ""
    try:
        work = (
            [(c.label(), lambda c=c: _measure_config(db, device, profile, c, build_id, prog))
             for c in todo]
            + [(x.label, lambda x=x: _measure_extracted(db, device, profile, x, build_id, prog))
               for x in cuts]
            + [(f"network {n['family']} res={n['res']} width={n['width']}",
                lambda n=n: _measure_network(db, device, profile, n, build_id, prog))
               for n in nets]
        )  # fmt: skip
        for label, measure in work:
            if cancel is not None and cancel.is_set():
                status, message = "cancelled", "cancelled by the user"
                break
            prog.current = label
            measure()
            _tick(bar, prog, on_progress)
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
        if bar is not None:
            bar.close()
        counts = dict(measured=prog.measured, skipped=prog.skipped, failed=prog.failed)
        db.finish_build(build_id, status, counts, message)
        prog.current = status
        if on_progress:
            on_progress(prog)
    return prog


def _row(profile: DeviceProfile, build_id: int, **values: Any) -> dict[str, Any]:
    """The provenance columns every single-op measurement row carries."""
    return dict(
        device_id=profile.id,
        runtime=profile.runtime,
        runtime_version=profile.runtime_version,
        delegate=profile.delegate,
        threads=profile.threads,
        build_id=build_id,
        **values,
    )


def _time_and_record(
    db: Database, device: Device, row: dict[str, Any], data: bytes, label: str, prog: Progress
) -> None:
    """Time one single-op model and commit the result, or the reason it could not run."""
    try:
        t = device.measure(data)
    except DeviceLost:
        raise
    except LetiError as exc:
        db.add_measurement(**row, status="failed", error=str(exc))
        prog.failed += 1
        prog.failures.append(f"{label}: {exc}")
        return
    db.add_measurement(**row, status="ok", **t.columns())
    prog.measured += 1


def _measure_config(
    db: Database,
    device: Device,
    profile: DeviceProfile,
    cfg: OpConfig,
    build_id: int,
    prog: Progress,
) -> None:
    row = _row(profile, build_id, config_key=cfg.key, op_type=cfg.op, config=cfg.params,
               source=cfg.source)  # fmt: skip
    try:
        data, record = _op_model(cfg)
    except GenerationError as exc:
        db.add_measurement(**row, status="failed", error=str(exc))
        prog.failed += 1
        prog.failures.append(str(exc))
        return
    row.update(features=record, model_sha256=hashlib.sha256(data).hexdigest())
    _time_and_record(db, device, row, data, cfg.label(), prog)


def _measure_extracted(
    db: Database, device: Device, profile: DeviceProfile, cut: Extracted, build_id: int,
    prog: Progress,
) -> None:  # fmt: skip
    row = _row(profile, build_id, config_key=cut.key, op_type=cut.op, config=cut.config,
               source="extracted", features=cut.record,
               model_sha256=hashlib.sha256(cut.data).hexdigest())  # fmt: skip
    _time_and_record(db, device, row, cut.data, cut.label, prog)


def _measure_network(
    db: Database, device: Device, profile: DeviceProfile, spec: dict, build_id: int, prog: Progress
) -> None:
    try:
        data = network_model(spec)
        t = device.measure(data)
    except DeviceLost:
        raise
    except Exception as exc:  # a network that fails to build is reported, the build goes on
        prog.failed += 1
        prog.failures.append(f"network {spec}: {exc}")
        return
    record_model_measurement(
        db, profile, data, t, name=f"gen-{netgen.spec_key(spec)}", kind="generated", spec=spec,
        build_id=build_id,
    )  # fmt: skip
    prog.measured += 1


def measured_networks(
    db: Database, device_id: str, say: Callable[[str], None] | None = None
) -> list[tuple[ModelGraph, float]]:
    """The generated networks measured on a device, parsed (rebuilt if not cached), with ms."""
    out = []
    for n in db.model_measurements(device_id, kind="generated"):
        try:
            out.append((read_model(network_model(n["spec"]), n["name"]), n["median_ms"]))
        except Exception as exc:  # a spec this version cannot rebuild is left out
            if say:
                say(f"network {n['name']} left out: {exc}")
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
) -> None:
    graph = read_model(data, name)
    db.upsert_device(profile)
    db.add_model_measurement(
        device_id=profile.id,
        model_sha256=hashlib.sha256(data).hexdigest(),
        name=name,
        kind=kind,
        spec=spec,
        operators=len(graph.nodes),
        **t.columns(),
        runtime=profile.runtime,
        runtime_version=profile.runtime_version,
        build_id=build_id,
    )


def _bar(total: int, label: str, show: bool, position: int) -> Any:
    if not show:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=label, unit="op", position=position, dynamic_ncols=True)


def _tick(bar: Any, prog: Progress, on_progress: Callable[[Progress], None] | None) -> None:
    prog.done += 1
    if bar is not None:
        bar.set_postfix_str(prog.current[:40] + (f" failed={prog.failed}" if prog.failed else ""))
        bar.update(1)
    if on_progress:
        on_progress(prog)
