"""Devices that time .tflite models, one module per backend behind one protocol
(:class:`~.base.Device`), found by kind in one registry (:data:`~.base.KINDS`): ``host`` (this
CPU), ``gpu`` (LiteRT's GPU accelerator), ``adb`` (a phone with TFLite's benchmark_model) and
``phone`` (the phones known from published measurements, which open to nothing)."""

from __future__ import annotations

from typing import Any

from ..errors import LetiError
from .base import (
    DELEGATES,
    DEVICE_HELP,
    PRECISIONS,
    Device,
    DeviceKind,
    DeviceProfile,
    DeviceSpec,
    Interleaving,
    KernelProfiler,
    Opener,
    Runner,
    check_delegate,
    check_precision,
    check_threads,
    cli_args,
    device_kind,
    profile_id,
    register,
)

__all__ = [
    "DELEGATES",
    "DEVICE_HELP",
    "PRECISIONS",
    "Device",
    "DeviceKind",
    "DeviceProfile",
    "DeviceSpec",
    "Interleaving",
    "KernelProfiler",
    "Runner",
    "check_delegate",
    "check_opens",
    "check_precision",
    "check_threads",
    "cli_args",
    "device_kind",
    "list_devices",
    "open_device",
    "profile_id",
    "register",
]


def check_opens(spec: DeviceSpec) -> Opener:
    """What opens ``spec`` (its kind's opener), or the one-line reason nothing can, found
    without opening anything (so a page refuses a job at once): a phone known from published
    measurements, or a stored profile id, which names measurements, not a device."""
    kind = device_kind(spec.kind)
    if kind.opens is None:
        raise LetiError(
            f"{spec.text} is known from {kind.known_from}: nothing to measure",
            f"estimate, train or evaluate it ('leti train {cli_args(spec)}')",
        )
    if spec.profile:
        raise LetiError(
            f"{spec.text} is a stored profile, not a device that can measure",
            f"measure with {cli_args(spec)}",
        )
    return kind.opens


def open_device(spec: DeviceSpec, binary: str | None = None, **options: Any) -> Device:
    """A ready-to-use device for ``spec``, opened by its kind's entry in the registry; phones
    must be connected and authorised."""
    return check_opens(spec)(spec, binary, **options)


def _host(spec: DeviceSpec, binary: str | None, **options: Any) -> Device:
    from .host import HostDevice

    return HostDevice(threads=spec.threads)


def _gpu(spec: DeviceSpec, binary: str | None, **options: Any) -> Device:
    from .gpu import GpuDevice

    return GpuDevice(precision=spec.precision, **options)


def _adb(spec: DeviceSpec, binary: str | None, **options: Any) -> Device:
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
    return AdbDevice(
        spec.serial, delegate=spec.delegate, threads=spec.threads, binary=binary, **options
    )


def _published_phone(fields: dict[str, str]) -> None:
    from .published import PHONES

    if fields["phone"] not in PHONES:
        raise LetiError(
            f"no published phone {fields['phone']!r}",
            f"the phones are {', '.join(PHONES)} (e.g. --device phone/pixel4/gpu)",
        )


register(DeviceKind("host", _host))
register(DeviceKind("gpu", _gpu, in_context=True))  # per-run dispatch dwarfs a single op
register(DeviceKind("adb", _adb))
register(DeviceKind("phone", None, check_id=_published_phone, known_from="published measurements"))


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
