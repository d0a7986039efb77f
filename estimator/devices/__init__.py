"""Devices that time .tflite models, one module per backend behind one protocol
(:class:`~.base.Device`): ``host`` (this CPU), ``gpu`` (LiteRT's GPU accelerator) and
``adb:SERIAL`` (a phone with TFLite's benchmark_model)."""

from __future__ import annotations

from typing import Any

from ..errors import LetiError
from .base import DEVICE_HELP, Device, DeviceProfile, DeviceSpec, cli_args, profile_id

__all__ = [
    "DEVICE_HELP",
    "Device",
    "DeviceProfile",
    "DeviceSpec",
    "cli_args",
    "list_devices",
    "open_device",
    "profile_id",
]


def open_device(spec: DeviceSpec, binary: str | None = None, **options: Any) -> Device:
    """A ready-to-use device for ``spec``; phones must be connected and authorised."""
    if spec.kind == "host":
        from .host import HostDevice

        return HostDevice(threads=spec.threads)
    if spec.kind == "gpu":
        from .gpu import GpuDevice

        return GpuDevice(precision=spec.precision, **options)
    if spec.kind == "adb":
        from .adb import AdbDevice, list_adb_devices

        entries = {e.serial: e for e in list_adb_devices()}
        if spec.serial not in entries:
            known = ", ".join(sorted(entries)) or "none"
            raise LetiError(
                f"phone {spec.serial} is not connected (adb sees: {known})",
                "plug it in, enable USB debugging, and check 'leti devices'",
            )
        if entries[spec.serial].state != "device":
            raise LetiError(
                f"phone {spec.serial} is {entries[spec.serial].state!r}, not ready",
                "unlock it and accept the USB debugging prompt",
            )
        return AdbDevice(spec.serial, delegate=spec.delegate, threads=spec.threads,
                         binary=binary, **options)  # fmt: skip
    raise LetiError(
        f"{spec.text} is a stored profile, not a device that can measure",
        f"measure with {cli_args(spec)}",
    )


def list_devices() -> list[dict[str, str]]:
    """Every device this machine can reach, with its state and what to do when not ready."""
    from .adb import list_adb_devices
    from .gpu import probe

    rows = [{"device": "host", "state": "ready", "description": "this machine's CPU (LiteRT)"}]
    rows.append(probe().row())
    try:
        for e in list_adb_devices():
            rows.append(
                {"device": f"adb:{e.serial}", "state": e.state, "description": e.description}
            )
    except LetiError as exc:
        rows.append({"device": "adb", "state": "unavailable", "description": str(exc)})
    return rows
