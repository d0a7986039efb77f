"""``leti devices`` and ``leti measure``: what can be measured, and a whole model's latency."""

from __future__ import annotations

import argparse
import json

from ..render import format_ms, text_table
from .options import (
    COMMON,
    add_db_option,
    add_device_options,
    database,
    device_from_args,
    spec_from_args,
)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "devices",
        parents=[COMMON],
        help="list the host, the GPU, every adb device and the phones imported from "
        "published measurements",
    )
    p.add_argument(
        "--format", choices=["table", "json"], default="table", help="output (default: table)"
    )
    add_db_option(p)
    p.set_defaults(func=run_devices)

    p = sub.add_parser(
        "measure", parents=[COMMON], help="measure a whole model end to end on a device"
    )
    p.add_argument("model", help="a .tflite file")
    add_device_options(p)
    p.add_argument(
        "--runs", type=int, default=None, help="exact timed runs (default: until stable)"
    )
    p.add_argument(
        "--format", choices=["table", "json"], default="table", help="output (default: table)"
    )
    p.add_argument("--record", action="store_true", help="store it as a model-level measurement")
    add_db_option(p)
    p.set_defaults(func=run_measure)


def run_devices(args: argparse.Namespace) -> int:
    from ..devices import list_devices
    from ..services.published import imported_phones

    rows = list_devices() + imported_phones(database(args))
    if args.format == "json":
        print(json.dumps(rows, indent=1))
    else:
        print(text_table(["device", "state", "description"], [list(r.values()) for r in rows]))
    return 0


def run_measure(args: argparse.Namespace) -> int:
    from ..graph import read_model
    from ..services.measure import measure_model

    read_model(args.model)  # bad files fail here, before any device work
    spec = spec_from_args(args)
    device = device_from_args(args, spec)
    result = measure_model(
        device, args.model, runs=args.runs, db=database(args) if args.record else None
    )
    if args.format == "json":
        print(json.dumps({**result.to_dict(), "recorded": bool(args.record)}, indent=1))
    else:
        t = result.timing
        print(
            f"{args.model} on {result.profile.id}: median {format_ms(t.median_ms)} "
            f"(p10 {format_ms(t.p10_ms)}, p90 {format_ms(t.p90_ms)}; {t.runs} runs)"
        )
    return 0
