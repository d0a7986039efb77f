"""``leti db build|status|export|import|upgrade``: the benchmark database from the command
line."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

from ..devices.adb import DeviceLost
from ..errors import LetiError
from ..generate.suite_times import quoted
from ..generate.suites import GRIDS, SUITES
from ..render import text_table
from ..services.claims import LEASE_S
from ..signals import let_signals_through, start_threads, stop_on_signals, wait_all
from .options import (
    COMMON,
    add_db_option,
    add_device_options,
    database,
    device_from_args,
    specs_from_args,
)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    db = sub.add_parser("db", help="build, inspect and share the benchmark database")
    dbsub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")

    p = dbsub.add_parser(
        "build", parents=[COMMON], help="measure benchmark models on a device (resumable)"
    )
    add_device_options(p, multi=True)
    p.add_argument(
        "--suite",
        choices=SUITES,
        help="what to measure: "
        + ", ".join(f"{s} ({quoted(s)})" for s in SUITES if s in ("smoke", "default"))
        + ", full (hours), zoo (the zoo's real models, kernel by kernel: a phone's GPU); "
        "default: smoke when nothing else is asked for",
    )
    p.add_argument(
        "--grid",
        action="append",
        choices=GRIDS,
        help="add a grid: gsoc (the GSoC project's convolutions), wide (real mobile sizes)",
    )
    p.add_argument(
        "--from-model",
        action="append",
        default=[],
        metavar="MODEL",
        help="every operator of this .tflite file (repeatable); ops no generator makes are "
        "cut out with their real weights",
    )
    p.add_argument(
        "--zoo",
        action="append",
        default=[],
        metavar="NAME",
        help="profile this zoo model on a phone's GPU, kernel by kernel (repeatable; --suite "
        "zoo profiles every shipped one)",
    )
    p.add_argument(
        "--adaptive",
        type=int,
        default=0,
        metavar="N",
        help="N more random configs, most where the trained estimator's error is highest",
    )
    add_db_option(p)
    p.add_argument(
        "--no-progress", action="store_true", help="print no progress bar (logs, CI, scripts)"
    )
    p.add_argument(
        "--lease",
        type=float,
        default=LEASE_S,
        metavar="SECONDS",
        help="how long a claimed item stays this builder's if it dies (default "
        f"{LEASE_S:.0f}); other builders on the same database take it over after that",
    )
    p.set_defaults(func=run_build)

    p = dbsub.add_parser(
        "status", parents=[COMMON], help="counts per device and op type, and the last build"
    )
    add_db_option(p)
    p.add_argument(
        "--format", choices=["table", "json"], default="table", help="output (default: table)"
    )
    p.set_defaults(func=run_status)

    p = dbsub.add_parser("export", parents=[COMMON], help="write every row to CSV or JSON Lines")
    p.add_argument("file", help="where to write: FILE.jsonl or FILE.csv")
    p.add_argument("--format", choices=["csv", "jsonl"], help="default: from the file's extension")
    add_db_option(p)
    p.set_defaults(func=run_export)

    p = dbsub.add_parser(
        "import",
        parents=[COMMON],
        help="add rows from an export, or a published dataset's folder (existing rows are kept)",
    )
    p.add_argument(
        "file",
        help="a leti export (.jsonl or .csv), or a mobile-ml-benchmark folder "
        "(tflite_cnn_ops_gpu.csv and tflite_cnn_e2e.csv: the six published phones)",
    )
    p.add_argument(
        "--format", choices=["csv", "jsonl"], help="an export's format (default: its extension)"
    )
    add_db_option(p)
    p.set_defaults(func=run_import)

    p = dbsub.add_parser(
        "upgrade", parents=[COMMON], help="migrate the database to this leti-view's schema"
    )
    add_db_option(p)
    p.set_defaults(func=run_upgrade)


def _fmt(args: argparse.Namespace) -> str:
    if args.format:
        return args.format
    return "csv" if str(args.file).endswith(".csv") else "jsonl"


def run_build(args: argparse.Namespace) -> int:
    from ..predict.store import read_metadata
    from ..services.build import make_plan, run_build
    from ..services.estimate import resolve_profile

    suite = args.suite
    if not suite and not args.grid and not args.from_model and not args.adaptive and not args.zoo:
        suite = "smoke"
    stop_on_signals()  # a build in the background stops on kill -INT / -TERM too, and says so
    specs = specs_from_args(args)
    db = database(args)
    adaptive_meta = None
    if args.adaptive:
        adaptive_meta = read_metadata(resolve_profile(specs[0], db))
    plan = make_plan(suite, args.from_model, args.grid, adaptive_meta, args.adaptive, args.zoo)
    for note in plan.notes:
        print(f"note: {note}", file=sys.stderr)
    devices = [device_from_args(args, spec) for spec in specs]
    start = time.time()
    results, errors = [], []

    stop = threading.Event()  # Ctrl-C with several devices: each builder stops after its item
    started = threading.Event()
    done = [threading.Event() for _ in devices]  # set by each builder as it ends

    def work(i: int, dev) -> None:
        try:
            if len(devices) > 1:  # for the runtimes and adb it starts (main thread handles them)
                let_signals_through(started)
            results.append(
                run_build(
                    db,
                    dev,
                    plan,
                    show_progress=not args.no_progress,
                    cancel=stop,
                    position=i,
                    lease_s=args.lease,
                )
            )
        except DeviceLost as exc:  # mid-build: what was measured is kept, a rerun goes on
            errors.append(
                f"{specs[i].text}: {exc}; measurements taken so far are saved, rerun to resume"
            )
        except LetiError as exc:  # the device cannot measure at all: its own words say why
            errors.append(f"{specs[i].text}: {exc}")
        finally:
            done[i].set()

    if len(devices) == 1:
        work(0, devices[0])  # in the main thread, so Ctrl-C interrupts it
    else:
        threads = [threading.Thread(target=work, args=(i, d)) for i, d in enumerate(devices)]
        try:
            start_threads(threads, started)  # a signal inside Thread.start() is a traceback
            wait_all(threads, done)  # not t.join(): a signal a builder's thread took must stop us
        except KeyboardInterrupt:  # stop the builders too, or the process waits for them all
            stop.set()
            while True:
                try:
                    wait_all(threads, done)
                    break
                except KeyboardInterrupt:  # already stopping: each ends after its item
                    continue
            raise
    took = time.time() - start
    for r in results:
        print(
            f"{r.device_id}: measured {r.measured}, skipped {r.skipped} (already in the database), "
            f"failed {r.failed}, in {took:.1f} s"
        )
        for f in r.failures[:10]:
            print(f"  failed: {f}")
    if errors:
        for e in errors:
            print(f"leti: error: {e}", file=sys.stderr)
        return 2
    return 0


def run_status(args: argparse.Namespace) -> int:
    status = database(args).status()
    if args.format == "json":
        print(json.dumps(status, indent=1, default=str))
        return 0
    print(f"database: {status['url']}")
    times = status.get("times", {})
    if not status["devices"] and not times:
        print("no measurements yet: run 'leti db build --device host --suite smoke'")
    for dev, d in status["devices"].items():
        print(f"\n{dev}: {d['ok']} measured, {d['failed']} failed, {d['models']} whole models")
        if d.get("leases"):
            owners = ", ".join(f"{o} ({n})" for o, n in sorted(d["leases"]["owners"].items()))
            print(f"leased now: {d['leases']['count']} items, by {owners}")
        rows = [[op, c.get("ok", 0), c.get("failed", 0)] for op, c in sorted(d["ops"].items())]
        if rows:
            print(text_table(["op type", "measured", "failed"], rows, right={1, 2}))
    if times:
        rows = [[dev, n["kernels"], n["models"]] for dev, n in sorted(times.items())]
        print("\nkernels timed inside whole models, and whole models end to end:")
        print(text_table(["device profile", "kernels", "models"], rows, right={1, 2}))
    last = status["last_build"]
    if last:
        print(
            f"\nlast build #{last['id']} on {last['device_id']} ({last['suite'] or '-'}): "
            f"{last['status']}, measured {last['measured']}, skipped {last['skipped']}, "
            f"failed {last['failed']}, started {last['started_at']}"
        )
    return 0


def run_export(args: argparse.Namespace) -> int:
    from ..db.exchange import export

    n = export(database(args), Path(args.file), _fmt(args))
    print(f"wrote {n} rows to {args.file}")
    return 0


def run_import(args: argparse.Namespace) -> int:
    from ..db.exchange import import_file

    path = Path(args.file)
    if path.is_dir():
        from ..services.published import import_dataset

        done = import_dataset(database(args), path)
        print(f"imported {path}: {done.summary()}")
        gpus = [p.id for p in done.dataset.profiles if p.id.endswith("/gpu")]
        if gpus:
            print(f"phone GPUs: {', '.join(gpus)}; train one with 'leti train --device {gpus[0]}'")
        return 0
    if not path.is_file():
        raise LetiError(f"{path}: no such file or folder")
    try:
        added = import_file(database(args), path, _fmt(args))
    except (ValueError, KeyError) as exc:
        raise LetiError(f"{path}: not a leti export ({type(exc).__name__}: {exc})") from None
    print("imported: " + ", ".join(f"{k} {v}" for k, v in added.items()))
    return 0


def run_upgrade(args: argparse.Namespace) -> int:
    from ..db import upgrade_db

    done = upgrade_db(args.db)
    if done.before == done.after:
        print(f"{done.url}: already at schema revision {done.after}")
    else:
        before = done.before or "(empty)"
        print(f"{done.url}: upgraded from schema revision {before} to {done.after}")
    return 0
