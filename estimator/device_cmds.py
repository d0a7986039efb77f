"""``leti devices`` and ``leti measure``: what can be measured, and a whole model's latency."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .devices import DEVICE_HELP, list_devices, open_device
from .tables import render


def add_device_options(p: argparse.ArgumentParser, multi: bool = False) -> None:
    if multi:
        p.add_argument(
            "--device",
            action="append",
            dest="devices",
            help=f"{DEVICE_HELP}; repeat for several phones at once (default: host)",
        )
    else:
        p.add_argument("--device", default="host", help=f"device: {DEVICE_HELP} (default: host)")
    p.add_argument("--threads", type=int, default=1, help="CPU threads (a distinct profile)")
    p.add_argument("--delegate", choices=["gpu", "cpu"], default="gpu", help="phones only")
    p.add_argument(
        "--benchmark-binary", help="benchmark_model for Android (or LETI_BENCHMARK_MODEL)"
    )
    p.add_argument("--cooldown", type=float, default=1.0, help="phones: seconds between runs")


def device_from_args(args: argparse.Namespace, spec: str | None = None):
    """The device ``spec`` (default ``--device``) with the command line's device options."""
    spec = spec or args.device
    extra = {}
    if spec.startswith("adb:"):
        extra["cooldown_s"] = args.cooldown
    return open_device(
        spec,
        threads=args.threads,
        delegate=args.delegate,
        binary=args.benchmark_binary,
        **extra,
    )


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("devices", help="list the host and every adb device with its state")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.set_defaults(func=run_devices)

    p = sub.add_parser("measure", help="measure a whole model end to end on a device")
    p.add_argument("model")
    add_device_options(p)
    p.add_argument(
        "--runs", type=int, default=None, help="exact timed runs (default: until stable)"
    )
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument("--record", action="store_true", help="store it as a model-level measurement")
    p.add_argument("--db", help="database URL or SQLite path (default: in LETI_HOME)")
    p.set_defaults(func=run_measure)


def run_devices(args: argparse.Namespace) -> int:
    rows = list_devices()
    if args.format == "json":
        print(json.dumps(rows, indent=1))
    else:
        print(render(["device", "state", "description"], [list(r.values()) for r in rows]))
    return 0


def run_measure(args: argparse.Namespace) -> int:
    from .build import record_model_measurement
    from .db import open_db
    from .graph import read_model

    graph = read_model(args.model)  # bad files fail here, before any device work
    device = device_from_args(args)
    device.check()
    data = Path(args.model).read_bytes()
    t = device.measure(data, runs=args.runs)
    if args.record:
        db = open_db(args.db)
        record_model_measurement(
            db, device.profile, data, t, name=Path(args.model).name, kind="user"
        )
    out = {
        "model": args.model,
        "operators": len(graph.nodes),
        "device": device.profile.id,
        "median_ms": t.median_ms,
        "p10_ms": t.p10_ms,
        "p90_ms": t.p90_ms,
        "mean_ms": t.mean_ms,
        "runs": t.runs,
        "device_facts": {
            "kind": device.profile.kind,
            "delegate": device.profile.delegate,
            "threads": device.profile.threads,
            "runtime": device.profile.runtime,
            "runtime_version": device.profile.runtime_version,
            **device.profile.fingerprint,
        },
        "recorded": bool(args.record),
    }
    if args.format == "json":
        print(json.dumps(out, indent=1))
    else:
        p = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
        print(
            f"{args.model} on {out['device']}: median {p(t.median_ms)} ms "
            f"(p10 {p(t.p10_ms)}, p90 {p(t.p90_ms)}; {t.runs} runs)"
        )
    return 0
