"""Turn a ``--device`` argument into a device object, and list what is connected."""

from __future__ import annotations

from typing import Any

from .adb import AdbDevice, list_adb_devices
from .errors import LetiError
from .host import HostDevice

DEVICE_HELP = "'host' (this machine's CPU) or 'adb:SERIAL' (a phone; see 'leti devices')"


def open_device(
    spec: str,
    threads: int = 1,
    delegate: str = "gpu",
    binary: str | None = None,
    **options: Any,
) -> HostDevice | AdbDevice:
    if spec == "host":
        return HostDevice(threads=threads)
    if spec.startswith("adb:") and len(spec) > 4:
        serial = spec[4:]
        entries = {e.serial: e for e in list_adb_devices()}
        if serial not in entries:
            known = ", ".join(sorted(entries)) or "none"
            raise LetiError(
                f"phone {serial} is not connected (adb sees: {known})",
                "plug it in, enable USB debugging, and check 'leti devices'",
            )
        if entries[serial].state != "device":
            raise LetiError(
                f"phone {serial} is {entries[serial].state!r}, not ready",
                "unlock it and accept the USB debugging prompt",
            )
        return AdbDevice(serial, delegate=delegate, threads=threads, binary=binary, **options)
    raise LetiError(f"unknown device {spec!r}", f"use {DEVICE_HELP}")


def list_devices() -> list[dict[str, str]]:
    rows = [{"device": "host", "state": "ready", "description": "this machine's CPU (LiteRT)"}]
    try:
        for e in list_adb_devices():
            rows.append(
                {"device": f"adb:{e.serial}", "state": e.state, "description": e.description}
            )
    except LetiError as exc:
        rows.append({"device": "adb", "state": "unavailable", "description": str(exc)})
    return rows
