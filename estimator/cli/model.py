"""``leti train``, ``leti estimate`` and ``leti evaluate``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..graph import read_model
from ..render import RENDERERS, format_ms, render, text_table
from .options import COMMON, add_db_option, add_device_options, database, spec_from_args


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train", parents=[COMMON], help="fit the per-op regressors for a device from the database"
    )
    add_device_options(p)
    add_db_option(p)
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.set_defaults(func=run_train)

    p = sub.add_parser("estimate", parents=[COMMON], help="predict a model's latency, node by node")
    p.add_argument("model")
    add_device_options(p)
    add_db_option(p)
    p.add_argument("--format", choices=sorted(RENDERERS), default="table")
    p.set_defaults(func=run_estimate)

    p = sub.add_parser(
        "evaluate", parents=[COMMON], help="measure models end to end and compare with predictions"
    )
    p.add_argument("models", nargs="+")
    add_device_options(p)
    add_db_option(p)
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
    from ..services.estimate import resolve_profile
    from ..services.train import train_and_save

    db = database(args)
    device_id = resolve_profile(spec_from_args(args), db)
    quiet = args.format == "json"
    report, path = train_and_save(db, device_id, log=None if quiet else print)
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
        text_table(
            ["op type", "n", "model", "MAPE %", "±5 %", "±10 %", "R²"], rows, right={1, 3, 4, 5, 6}
        )
    )
    print(f"\nsaved {path} ({report['samples']} measurements, {report['networks']} networks, "
          f"{report['seconds']:.1f} s)")  # fmt: skip
    return 0


def run_estimate(args: argparse.Namespace) -> int:
    from ..services.estimate import load_estimator

    graph = read_model(args.model)  # bad input fails before loading anything heavy
    est = load_estimator(spec_from_args(args), lambda: database(args))
    print(render(est.predict(graph), args.format).rstrip("\n"))
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from ..services.evaluate import evaluate

    result = evaluate(
        database(args), args.models, spec_from_args(args), remeasure=args.remeasure,
        baselines=args.baselines, binary=args.benchmark_binary, rounds=args.rounds,
    )  # fmt: skip
    if args.format == "json":
        print(json.dumps(result, indent=1, default=float))
        return 0
    norm = "scores_normalised" in result
    rows = []
    for m in result["models"]:
        row = [Path(m["model"]).name, format_ms(m["measured_ms"]), format_ms(m["predicted_ms"]),
               f"{m['error_pct']:+.1f}%"]  # fmt: skip
        if norm:
            row.append(f"{m['error_normalised_pct']:+.1f}%")
        rows.append(row)
    head = ["model", "measured", "predicted", "error"] + (["error, drift removed"] if norm else [])
    print(text_table(head, rows, right={1, 2, 3, 4}))
    _print_scores(result["scores"])
    d = result.get("drift") or {}
    if d.get("factor") is not None:
        f = d["factor"]
        state = (f"in another state than at calibration ({abs(f - 1) * 100:.0f}% "
                 f"{'slower' if f > 1 else 'faster'})" if d["different_state"]
                 else "in its calibration state")  # fmt: skip
        print(f"\ndevice {state}: reference set x{f:.3f} of its calibration timings "
              f"(per round: {', '.join(f'x{x:.3f}' for x in d['factors'])})")  # fmt: skip
        if norm:
            print("scores with the drift removed (truth divided by each round's factor):")
            _print_scores(result["scores_normalised"])
    return 0


def _print_scores(scores: dict) -> None:
    for name, s in scores.items():
        rho = "n/a (needs 3 models)" if s["spearman"] is None else f"{s['spearman']:.3f}"
        print(f"{name}: MAPE {s['mape']:.1f}%, within ±5% {s['within_5']:.0f}%, "
              f"within ±10% {s['within_10']:.0f}%, Spearman {rho}")  # fmt: skip
