"""``leti db build|status|export|import``: the benchmark database from the command line."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

from .configs import SUITES
from .device_cmds import add_device_options, device_from_args
from .errors import LetiError
from .tables import render


def add_parsers(sub: argparse._SubParsersAction) -> None:
    db = sub.add_parser("db", help="build, inspect and share the benchmark database")
    dbsub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")

    p = dbsub.add_parser("build", help="measure single-operator models on a device (resumable)")
    add_device_options(p, multi=True)
    p.add_argument("--suite", choices=SUITES, help="smoke (~1 min), default (~8 min), full")
    p.add_argument("--grid", action="append", choices=["gsoc", "wide"], help="add a grid")
    p.add_argument("--from-model", action="append", default=[], help="every op config in MODEL")
    p.add_argument(
        "--adaptive",
        type=int,
        default=0,
        metavar="N",
        help="N more random configs, most where the trained estimator's error is highest",
    )
    p.add_argument("--db", help="database URL or SQLite path (default: in LETI_HOME)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run_build_cmd)

    p = dbsub.add_parser("status", help="counts per device and op type, and the last build")
    p.add_argument("--db")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.set_defaults(func=run_status)

    p = dbsub.add_parser("export", help="write every row to CSV or JSON Lines")
    p.add_argument("file")
    p.add_argument("--format", choices=["csv", "jsonl"], help="default: from the file extension")
    p.add_argument("--db")
    p.set_defaults(func=run_export)

    p = dbsub.add_parser("import", help="add rows from an export (existing rows are kept)")
    p.add_argument("file")
    p.add_argument("--format", choices=["csv", "jsonl"])
    p.add_argument("--db")
    p.set_defaults(func=run_import)


def _fmt(args: argparse.Namespace) -> str:
    if args.format:
        return args.format
    return "csv" if str(args.file).endswith(".csv") else "jsonl"


def run_build_cmd(args: argparse.Namespace) -> int:
    from .build import make_plan, run_build
    from .db import open_db  # SQLAlchemy only for commands that use it

    suite = args.suite
    if not suite and not args.grid and not args.from_model and not args.adaptive:
        suite = "smoke"
    device_id = None
    if args.adaptive:
        from .calibration import device_id_for

        device_id = device_id_for((args.devices or ["host"])[0], open_db(args.db), args.threads,
                                  args.delegate)  # fmt: skip
    plan = make_plan(suite, args.from_model, args.grid, args.adaptive, device_id)
    for note in plan.notes:
        print(f"note: {note}", file=sys.stderr)
    specs = args.devices or ["host"]
    devices = [device_from_args(args, spec) for spec in specs]
    db = open_db(args.db)
    start = time.time()
    results, errors = [], []

    def work(i: int, dev) -> None:
        try:
            results.append(run_build(db, dev, plan, show_progress=not args.no_progress, position=i))
        except LetiError as exc:
            errors.append(f"{specs[i]}: {exc}")

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
    from .db import open_db  # SQLAlchemy only for commands that use it

    status = open_db(args.db).status()
    if args.format == "json":
        print(json.dumps(status, indent=1, default=str))
        return 0
    print(f"database: {status['url']}")
    if not status["devices"]:
        print("no measurements yet: run 'leti db build --device host --suite smoke'")
    for dev, d in status["devices"].items():
        print(f"\n{dev}: {d['ok']} measured, {d['failed']} failed, {d['models']} whole models")
        rows = [[op, c.get("ok", 0), c.get("failed", 0)] for op, c in sorted(d["ops"].items())]
        print(render(["op type", "measured", "failed"], rows, right={1, 2}))
    last = status["last_build"]
    if last:
        print(
            f"\nlast build #{last['id']} on {last['device_id']} ({last['suite'] or '-'}): "
            f"{last['status']}, measured {last['measured']}, skipped {last['skipped']}, "
            f"failed {last['failed']}, started {last['started_at']}"
        )
    return 0


def run_export(args: argparse.Namespace) -> int:
    from .db import open_db  # SQLAlchemy only for commands that use it

    n = open_db(args.db).export(Path(args.file), _fmt(args))
    print(f"wrote {n} rows to {args.file}")
    return 0


def run_import(args: argparse.Namespace) -> int:
    from .db import open_db  # SQLAlchemy only for commands that use it

    path = Path(args.file)
    if not path.is_file():
        raise LetiError(f"{path}: no such file")
    try:
        added = open_db(args.db).import_file(path, _fmt(args))
    except (ValueError, KeyError) as exc:
        raise LetiError(f"{path}: not a leti export ({type(exc).__name__}: {exc})") from None
    print("imported: " + ", ".join(f"{k} {v}" for k, v in added.items()))
    return 0
