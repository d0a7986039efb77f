"""Command-line options shared by the commands that take a device or a database."""

from __future__ import annotations

import argparse

from ..devices import DEVICE_HELP, DeviceSpec


def add_device_options(p: argparse.ArgumentParser, multi: bool = False) -> None:
    if multi:
        p.add_argument(
            "--device",
            action="append",
            dest="devices",
            help=f"{DEVICE_HELP}; repeat for several devices at once (default: host)",
        )
    else:
        p.add_argument("--device", default="host", help=f"device: {DEVICE_HELP} (default: host)")
    p.add_argument(
        "--threads", type=int, default=1, help="CPU threads, a distinct profile (default: 1)"
    )
    p.add_argument(
        "--delegate",
        choices=["gpu", "cpu"],
        default="gpu",
        help="phones over adb: the GPU delegate or the CPU (default: gpu)",
    )
    p.add_argument(
        "--precision",
        choices=["fp16", "fp32"],
        default="fp16",
        help="gpu only: fp16 (the accelerator's default) or fp32, a distinct profile "
        "(default: fp16)",
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


def spec_from_args(args: argparse.Namespace, text: str | None = None) -> DeviceSpec:
    """The device ``text`` (default ``--device``) with the command line's device options."""
    return DeviceSpec.parse(
        text or args.device, threads=args.threads, delegate=args.delegate,
        precision=args.precision,
    )  # fmt: skip


def device_from_args(args: argparse.Namespace, spec: DeviceSpec):
    """An opened device for ``spec`` with the command line's runner options."""
    from ..devices import open_device

    extra = {"cooldown_s": args.cooldown} if spec.kind == "adb" else {}
    return open_device(spec, binary=args.benchmark_binary, **extra)


def database(args: argparse.Namespace):
    """The database ``--db`` names (imports SQLAlchemy only for commands that use it)."""
    from ..db import open_db

    return open_db(args.db)


# Every subcommand also takes -v/--verbose after its name (``leti db build --verbose``).
COMMON = argparse.ArgumentParser(add_help=False)
COMMON.add_argument(
    "-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
    help="show the runtimes' own log lines",
)  # fmt: skip
