"""Command-line options shared by the commands that take a device or a database.

``--device`` and its options are parsed and checked by their argparse types (a bad one is the
subcommand's usage error); :func:`spec_from_args` is the one place where the device meets
``--threads``, ``--delegate`` and ``--precision``."""

from __future__ import annotations

import argparse

from ..services.devices import (
    DELEGATES,
    DEVICE_HELP,
    PRECISIONS,
    Device,
    DeviceSpec,
    delegate_arg,
    device_arg,
    open_device,
    precision_arg,
    threads_arg,
)


def add_device_options(p: argparse.ArgumentParser, multi: bool = False) -> None:
    if multi:
        p.add_argument(
            "--device",
            action="append",
            dest="devices",
            type=device_arg,
            help=f"{DEVICE_HELP}; repeat for several devices at once (default: host)",
        )
    else:
        p.add_argument(
            "--device",
            default="host",
            type=device_arg,
            help=f"device: {DEVICE_HELP} (default: host)",
        )
    p.add_argument(
        "--threads",
        type=threads_arg,
        default=1,
        help="CPU threads, a distinct profile (default: 1)",
    )
    p.add_argument(
        "--delegate",
        type=delegate_arg,
        default=DELEGATES[0],
        metavar="{" + ",".join(DELEGATES) + "}",
        help=f"phones over adb: the GPU delegate or the CPU (default: {DELEGATES[0]})",
    )
    p.add_argument(
        "--precision",
        type=precision_arg,
        default=PRECISIONS[0],
        metavar="{" + ",".join(PRECISIONS) + "}",
        help="gpu only: fp16 (the accelerator's default) or fp32, a distinct profile "
        f"(default: {PRECISIONS[0]})",
    )
    p.add_argument(
        "--benchmark-binary",
        metavar="PATH",
        help="phones: TFLite's benchmark_model for Android (or set LETI_BENCHMARK_MODEL)",
    )
    p.add_argument(
        "--cooldown",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="phones: a pause after every run, so the SoC does not heat up (default: 1)",
    )


def add_db_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db", metavar="URL", help="database URL or SQLite path (default: in LETI_HOME)"
    )


def spec_from_args(args: argparse.Namespace, device: DeviceSpec | None = None) -> DeviceSpec:
    """``device`` (default: ``--device``, already parsed) with the command line's device
    options: the one place where they combine."""
    return (device or args.device).with_options(args.threads, args.delegate, args.precision)


def specs_from_args(args: argparse.Namespace) -> list[DeviceSpec]:
    """Every ``--device`` of a command that takes several (default: the host)."""
    return [spec_from_args(args, d) for d in args.devices or [device_arg("host")]]


def device_from_args(args: argparse.Namespace, spec: DeviceSpec) -> Device:
    """An opened device for ``spec`` with the command line's runner options."""
    extra = {"cooldown_s": args.cooldown} if spec.kind == "adb" else {}
    return open_device(spec, binary=args.benchmark_binary, **extra)


def database(args: argparse.Namespace):
    """The database ``--db`` names (imports SQLAlchemy only for commands that use it)."""
    from ..db import open_db

    return open_db(args.db)


# Every subcommand also takes -v/--verbose after its name (``leti db build --verbose``).
COMMON = argparse.ArgumentParser(add_help=False)
COMMON.add_argument(
    "-v",
    "--verbose",
    action="store_true",
    default=argparse.SUPPRESS,
    help="show the runtimes' own log lines",
)
