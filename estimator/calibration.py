"""Find the estimator for a device: the trained one, or an uncalibrated analytic stand-in.

A new user has no database; the viewer must still open at once. The stand-in prices every
node from the device's own throughput, fitted on a few seconds of real measurements (the
``micro`` suite), and says loudly that it is uncalibrated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import LetiError
from .latency import LatencyEstimator
from .store import load

if TYPE_CHECKING:  # the database (SQLAlchemy) is imported only when a lookup needs it
    from .db import Database


def device_id_for(
    spec: str, db: Database | None = None, threads: int = 1, delegate: str = "gpu"
) -> str:
    """The profile id a ``--device`` argument means, without touching a phone."""
    if "/" in spec:
        return spec
    if spec == "host":
        from .host import HostDevice

        return HostDevice(threads=threads).profile.id
    if spec.startswith("adb:") and db is not None:
        serial = spec[4:]
        suffix = "gpu" if delegate == "gpu" else f"cpu-t{threads}"
        for dev in db.device_ids():
            parts = dev.split("/")
            if (
                len(parts) == 3
                and parts[0] == "adb"
                and parts[1].endswith(f"-{serial}")
                and parts[2] == suffix
            ):
                return dev
        raise LetiError(
            f"no measurements for phone {serial} ({suffix})",
            f"run 'leti db build --device {spec}' first",
        )
    raise LetiError(f"unknown device {spec!r}", "use 'host' or 'adb:SERIAL'")


def uncalibrated(
    db: Database, device_id: str, spec: str = "host", threads: int = 1
) -> LatencyEstimator:
    from .training import fit_throughput

    rows = [r for r in db.measurements(device_id) if r["features"] and r["median_ms"]]
    if len(rows) < 5:
        from .build import make_plan, run_build
        from .devices import open_device

        run_build(db, open_device(spec, threads=threads), make_plan("micro"), show_progress=False)
        rows = [r for r in db.measurements(device_id) if r["features"] and r["median_ms"]]
    device = db.device(device_id) or {}
    return LatencyEstimator(
        device_id,
        {},
        fit_throughput(rows),
        gpu=device.get("delegate") == "gpu",
        metadata={"uncalibrated": True},
        calibrated=False,
    )


def get_estimator(
    db: Database,
    spec: str,
    threads: int = 1,
    delegate: str = "gpu",
    allow_uncalibrated: bool = False,
) -> LatencyEstimator:
    device_id = device_id_for(spec, db, threads, delegate)
    try:
        return load(device_id, cli_device=spec)
    except LetiError as exc:
        if allow_uncalibrated and "no trained estimator" in str(exc):
            return uncalibrated(db, device_id, spec, threads)
        raise
