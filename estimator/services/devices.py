"""Device input for both front ends (``leti`` and ``leti-view``), checked once, at the edge:
``--device`` and its options are argparse types over :mod:`..devices.base`'s own parsing and
checks, so a bad device is the subcommand's usage error (exit 2, one line) before any work
starts. The opening of a device, and the list of what this machine reaches, are here too, so
a front end needs nothing below the services to name, check or open a device."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeVar

from ..devices import (
    DELEGATES,
    DEVICE_HELP,
    PRECISIONS,
    Device,
    DeviceSpec,
    check_delegate,
    check_opens,
    check_precision,
    check_threads,
    list_devices,
    open_device,
)
from ..errors import LetiError

__all__ = [
    "DELEGATES",
    "DEVICE_HELP",
    "PRECISIONS",
    "Device",
    "DeviceSpec",
    "check_opens",
    "delegate_arg",
    "device_arg",
    "list_devices",
    "open_device",
    "precision_arg",
    "threads_arg",
]

T = TypeVar("T")


def argument_type(parse: Callable[[str], T], name: str) -> Callable[[str], T]:
    """``parse`` as an argparse ``type=``: its LetiError becomes the usage error's one line
    (``leti db build: error: argument --device: unknown device 'toaster' (use ...)``)."""

    def convert(text: str) -> T:
        try:
            return parse(text)
        except LetiError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = name  # argparse names the type in its own messages
    return convert


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise LetiError(f"a whole number is needed, got {text!r}") from None


device_arg = argument_type(DeviceSpec.parse, "device")
threads_arg = argument_type(lambda text: check_threads(_whole_number(text)), "threads")
delegate_arg = argument_type(check_delegate, "delegate")
precision_arg = argument_type(check_precision, "precision")
