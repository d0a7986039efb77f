"""``leti train``, ``leti estimate`` and ``leti evaluate``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .device_cmds import add_device_options
from .graph import read_model
from .tables import render


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="fit the per-op regressors for a device from the database")
    add_device_options(p)
    p.add_argument("--db")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.set_defaults(func=run_train)

    p = sub.add_parser("estimate", help="predict a model's latency, node by node")
    p.add_argument("model")
    add_device_options(p)
    p.add_argument("--db")
    p.add_argument("--format", choices=["table", "json", "csv", "model-explorer"], default="table")
    p.set_defaults(func=run_estimate)

    p = sub.add_parser("evaluate", help="measure models end to end and compare with predictions")
    p.add_argument("models", nargs="+")
    add_device_options(p)
    p.add_argument("--db")
    p.add_argument("--remeasure", action="store_true", help="ignore recorded measurements")
    p.add_argument("--baselines", action="store_true", help="also score the two baselines")
    p.add_argument(
        "--rounds",
        type=int,
        default=3,
        metavar="N",
        help="time each model once per round, N rounds, keep the median (default 3)",
    )
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.set_defaults(func=run_evaluate)


def run_train(args: argparse.Namespace) -> int:
    from .calibration import device_id_for
    from .db import open_db  # SQLAlchemy only for commands that use it
    from .store import save
    from .training import train

    db = open_db(args.db)
    device_id = device_id_for(args.device, db, args.threads, args.delegate)
    quiet = args.format == "json"
    est, report = train(db, device_id, log=None if quiet else print)
    path = save(est, report)
    if quiet:
        print(json.dumps({**report, "path": str(path)}, indent=1, default=float))
        return 0
    rows = [
        [r["op"], r["samples"], r["chosen"], r["metrics"]["mape"], r["metrics"]["within_5"],
         r["metrics"]["within_10"], r["metrics"]["r2"]]
        for r in report["op_types"]
    ]  # fmt: skip
    print()
    print(
        render(
            ["op type", "n", "model", "MAPE %", "±5 %", "±10 %", "R²"], rows, right={1, 3, 4, 5, 6}
        )
    )
    print(f"\nsaved {path} ({report['samples']} measurements, {report['networks']} networks, "
          f"{report['seconds']:.1f} s)")  # fmt: skip
    return 0


def run_estimate(args: argparse.Namespace) -> int:
    from . import outputs
    from .calibration import get_estimator

    def database():  # a host estimate never needs SQL; a phone's profile lookup does
        from .db import open_db

        return open_db(args.db)

    graph = read_model(args.model)  # bad input fails before loading anything heavy
    est = get_estimator(database, args.device, args.threads, args.delegate)
    result = est.predict(graph)
    if args.format == "json":
        print(outputs.dumps(outputs.as_json(result)))
    elif args.format == "csv":
        sys.stdout.write(outputs.as_csv(result))
    elif args.format == "model-explorer":
        names = {s.index: s.name for s in graph.subgraphs}
        print(outputs.dumps(outputs.as_model_explorer(result, names)))
    else:
        print(outputs.as_table(result))
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from .db import open_db  # SQLAlchemy only for commands that use it
    from .evaluation import evaluate

    db = open_db(args.db)
    result = evaluate(
        db, args.models, args.device, threads=args.threads, delegate=args.delegate,
        remeasure=args.remeasure, baselines=args.baselines, binary=args.benchmark_binary,
        rounds=args.rounds,
    )  # fmt: skip
    if args.format == "json":
        print(json.dumps(result, indent=1, default=float))
        return 0
    rows = [[Path(m["model"]).name, m["measured_ms"], m["predicted_ms"], f"{m['error_pct']:+.1f}%"]
            for m in result["models"]]  # fmt: skip
    print(render(["model", "measured ms", "predicted ms", "error"], rows, right={1, 2, 3}))
    for name, s in result["scores"].items():
        rho = "n/a" if s["spearman"] is None else f"{s['spearman']:.3f}"
        print(f"{name}: MAPE {s['mape']:.1f}%, within ±5% {s['within_5']:.0f}%, "
              f"within ±10% {s['within_10']:.0f}%, Spearman {rho}")  # fmt: skip
    return 0
