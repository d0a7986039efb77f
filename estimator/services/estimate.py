"""Find the estimator for a device, and predict models with it.

:func:`load_estimator` only loads what ``leti train`` saved. :func:`stand_in_estimator` is the
one place that measures to estimate: a new user has no database, yet the viewer must open at
once, so it times a few-second micro-benchmark on the host and prices every node from the
device's throughput, saying loudly that the result is uncalibrated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..devices import DeviceSpec, cli_args, profile_id
from ..predict.estimator import LatencyEstimator
from ..predict.store import load

if TYPE_CHECKING:  # the database (SQLAlchemy) is imported only when a lookup needs it
    from ..db import Database


def resolve_profile(spec: DeviceSpec, db: Callable[[], Database] | Database | None) -> str:
    """The profile id ``spec`` means; only a phone or a GPU needs the database to tell."""
    if spec.kind in ("host", "id") or db is None:
        return profile_id(spec)
    database = db() if callable(db) else db
    return profile_id(spec, database.device_ids())


def load_estimator(
    spec: DeviceSpec, db: Callable[[], Database] | Database | None = None
) -> LatencyEstimator:
    """The trained estimator for ``spec``, or a one-line error naming the commands to run."""
    return load(resolve_profile(spec, db), device_args=cli_args(spec))


def stand_in_estimator(db: Database, spec: DeviceSpec) -> LatencyEstimator:
    """An uncalibrated estimator for the host: the device's throughput fitted on the
    micro-benchmark's real measurements (run now, a few seconds, if not in the database)."""
    from ..devices import open_device
    from ..generate.suites import micro
    from ..generate.work import op_item
    from ..learn.throughput import fit as fit_throughput
    from .build import Plan, run_build

    device_id = resolve_profile(spec, db)
    rows = [r for r in db.measurements(device_id) if r["features"] and r["median_ms"]]
    if len(rows) < 5:
        plan = Plan([op_item(c) for c in micro()], None, ["micro-benchmark"])
        run_build(db, open_device(spec), plan, show_progress=False)
        rows = [r for r in db.measurements(device_id) if r["features"] and r["median_ms"]]
    f = [r["features"] for r in rows]
    throughput = fit_throughput(
        [x["flops"] for x in f],
        [x["bytes_in"] + x["bytes_w"] + x["bytes_out"] for x in f],
        [r["median_ms"] for r in rows],
    )
    return LatencyEstimator(
        device_id, {}, throughput, metadata={"uncalibrated": True}, calibrated=False
    )


def single_op_medians(db: Database, device_id: str, graph) -> dict[str, float]:
    """For each node key of ``graph``, the measured median of the same op timed alone on
    ``device_id`` (a generated configuration, or the op cut out of a model), where there is one."""
    from ..generate.extract import signature
    from ..generate.suites import node_to_config

    keys = {}
    for node in graph.nodes:
        cfg = node_to_config(node)
        keys[node.key] = cfg.key if cfg else f"x{signature(node)}"
    found = db.medians(device_id, list(keys.values()))
    return {k: found[v] for k, v in keys.items() if v in found}
