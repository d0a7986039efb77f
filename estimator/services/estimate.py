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
from ..devices.base import NoProfile, is_published
from ..errors import LetiError
from ..predict.estimator import LatencyEstimator
from ..predict.kernel_estimator import KernelEstimator
from ..predict.store import NoEstimator, load

if TYPE_CHECKING:  # the database (SQLAlchemy) is imported only when a lookup needs it
    from ..db import Database

# What a device's trained estimator is: per op (host, gpu) or per kernel (a phone's GPU).
Estimator = LatencyEstimator | KernelEstimator


def resolve_profile(spec: DeviceSpec, db: Callable[[], Database] | Database | None) -> str:
    """The profile id ``spec`` means; only a phone or a GPU needs the database to tell. When
    nothing was measured on it, the hint to build is given only where a build could run:
    otherwise the error says what is missing, in the words ``leti devices`` uses."""
    if spec.kind == "host" or spec.profile or db is None:
        return profile_id(spec)
    database = db() if callable(db) else db
    try:
        return profile_id(spec, database.device_ids())
    except NoProfile as exc:
        missing = unreachable(spec)
        if missing is None:
            raise
        raise LetiError(f"{exc.message}, and {missing}") from None


def unreachable(spec: DeviceSpec) -> str | None:
    """Why the device ``spec`` names cannot measure here now (None: it can)."""
    from ..devices import list_devices

    if spec.kind == "gpu":
        row = next((r for r in list_devices() if r["device"] == "gpu"), None)
        if row and row["state"] != "ready":
            return f"this machine has no usable GPU: {row['description']}"
    if spec.kind == "adb":
        rows = {r["device"]: r for r in list_devices()}
        row = rows.get(f"adb:{spec.serial}")
        if row is None:
            why = rows.get("adb", {}).get("description")
            return f"phone {spec.serial} is not connected" + (f" ({why})" if why else "")
        if row["state"] != "device":
            return f"phone {spec.serial} is {row['state']!r}, not ready"
    return None


IMPORT_HINT = (
    "import the published phones first: 'leti db import ../shared/data/mobile-ml-benchmark' "
    "(the mobile-ml-benchmark dataset folder)"
)


def load_estimator(
    spec: DeviceSpec, db: Callable[[], Database] | Database | None = None
) -> Estimator:
    """The trained estimator for ``spec``, or a one-line error naming the commands to run."""
    device_id = resolve_profile(spec, db)
    try:
        return load(device_id, device_args=cli_args(spec))
    except NoEstimator:
        if not is_published(device_id):
            raise
        database = db() if callable(db) else db
        if database is None or database.device(device_id) is None:
            raise NoEstimator(f"{device_id} was never imported", IMPORT_HINT) from None
        raise NoEstimator(
            f"no trained estimator for {device_id}",
            f"run 'leti train --device {device_id}' (about two minutes)",
        ) from None


def uncalibrated_note(device_id: str) -> str:
    """What ``leti estimate`` and the viewer both say when they price a host model without a
    trained estimator (one behaviour, the same words, in both)."""
    return (
        f"no trained estimator for {device_id}: these are uncalibrated analytic estimates from "
        "a few-second micro-benchmark; calibrate with 'leti db build --device host --suite "
        "default', then 'leti train --device host'"
    )


def estimator_or_stand_in(
    spec: DeviceSpec, db: Callable[[], Database]
) -> tuple[Estimator, str | None]:
    """The trained estimator, or for the host before any training the uncalibrated stand-in
    with :func:`uncalibrated_note`; any other device without one is an error saying why."""
    try:
        return load_estimator(spec, db), None
    except NoEstimator:
        if spec.kind != "host" or spec.profile:  # a stored id names no device to time
            raise
    est = stand_in_estimator(db(), spec)
    return est, uncalibrated_note(est.device_id)


def stand_in_estimator(db: Database, spec: DeviceSpec) -> LatencyEstimator:
    """An uncalibrated estimator for the host: the device's throughput fitted on the
    micro-benchmark's real measurements (run now, a few seconds, if not in the database)."""
    from ..devices import open_device
    from ..generate.suites import micro
    from ..generate.work import op_item
    from ..learn.throughput import fit as fit_throughput
    from .build import Plan, run_build

    device_id = resolve_profile(spec, db)
    rows = db.usable_measurements(device_id)
    if len(rows) < 5:
        plan = Plan([op_item(c) for c in micro()], None, ["micro-benchmark"])
        run_build(db, open_device(spec), plan, show_progress=False)
        rows = db.usable_measurements(device_id)
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
