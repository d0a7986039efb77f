"""``leti db build|status|export|import|upgrade``: the benchmark database from the command
line."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

from ..errors import LetiError
from ..generate.suite_times import quoted
from ..generate.suites import GRIDS, SUITES
from ..render import text_table
from ..services.claims import LEASE_S
from .options import (
    COMMON,
    add_db_option,
    add_device_options,
    database,
    device_from_args,
    spec_from_args,
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
        help=", ".join(f"{s} ({quoted(s)} on a 2-core host)" for s in SUITES),
    )
    p.add_argument("--grid", action="append", choices=GRIDS, help="add a grid")
    p.add_argument("--from-model", action="append", default=[], help="every op config in MODEL")
    p.add_argument(
        "--adaptive",
        type=int,
        default=0,
        metavar="N",
        help="N more random configs, most where the trained estimator's error is highest",
    )
    add_db_option(p)
    p.add_argument("--no-progress", action="store_true")
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
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.set_defaults(func=run_status)

    p = dbsub.add_parser("export", parents=[COMMON], help="write every row to CSV or JSON Lines")
    p.add_argument("file")
    p.add_argument("--format", choices=["csv", "jsonl"], help="default: from the file extension")
    add_db_option(p)
    p.set_defaults(func=run_export)

    p = dbsub.add_parser(
        "import", parents=[COMMON], help="add rows from an export (existing rows are kept)"
    )
    p.add_argument("file")
    p.add_argument("--format", choices=["csv", "jsonl"])
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
    if not suite and not args.grid and not args.from_model and not args.adaptive:
        suite = "smoke"
    specs = [spec_from_args(args, text) for text in (args.devices or ["host"])]
    db = database(args)
    adaptive_meta = None
    if args.adaptive:
        adaptive_meta = read_metadata(resolve_profile(specs[0], db))
    plan = make_plan(suite, args.from_model, args.grid, adaptive_meta, args.adaptive)
    for note in plan.notes:
        print(f"note: {note}", file=sys.stderr)
    devices = [device_from_args(args, spec) for spec in specs]
    start = time.time()
    results, errors = [], []

    def work(i: int, dev) -> None:
        try:
            results.append(run_build(db, dev, plan, show_progress=not args.no_progress,
                                     position=i, lease_s=args.lease))  # fmt: skip
        except LetiError as exc:
            errors.append(f"{specs[i].text}: {exc}")

    if len(devices) == 1:
        work(0, devices[0])  # in the main thread, so Ctrl-C interrupts it
    else:
        threads = [threading.Thread(target=work, args=(i, d)) for i, d in enumerate(devices)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
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
            print(f"leti: error: {e}; measurements taken so far are saved, rerun to resume",
                  file=sys.stderr)  # fmt: skip
        return 2
    return 0


def run_status(args: argparse.Namespace) -> int:
    status = database(args).status()
    if args.format == "json":
        print(json.dumps(status, indent=1, default=str))
        return 0
    print(f"database: {status['url']}")
    if not status["devices"]:
        print("no measurements yet: run 'leti db build --device host --suite smoke'")
    for dev, d in status["devices"].items():
        print(f"\n{dev}: {d['ok']} measured, {d['failed']} failed, {d['models']} whole models")
        if d.get("leases"):
            owners = ", ".join(f"{o} ({n})" for o, n in sorted(d["leases"]["owners"].items()))
            print(f"leased now: {d['leases']['count']} items, by {owners}")
        rows = [[op, c.get("ok", 0), c.get("failed", 0)] for op, c in sorted(d["ops"].items())]
        if rows:
            print(text_table(["op type", "measured", "failed"], rows, right={1, 2}))
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
    if not path.is_file():
        raise LetiError(f"{path}: no such file")
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
