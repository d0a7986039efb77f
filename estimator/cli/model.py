"""``leti train``, ``leti estimate`` and ``leti evaluate``."""

from __future__ import annotations

import argparse
import json
import sys
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
    p.add_argument(
        "--format", choices=["table", "json"], default="table", help="output (default: table)"
    )
    p.set_defaults(func=run_train)

    p = sub.add_parser("estimate", parents=[COMMON], help="predict a model's latency, node by node")
    p.add_argument("model", help="a .tflite file")
    add_device_options(p)
    add_db_option(p)
    p.add_argument(
        "--format",
        choices=sorted(RENDERERS),
        default="table",
        help="output: a table, JSON, CSV or Google Model Explorer node data (default: table)",
    )
    p.set_defaults(func=run_estimate)

    p = sub.add_parser(
        "evaluate", parents=[COMMON], help="measure models end to end and compare with predictions"
    )
    p.add_argument(
        "models",
        nargs="*",
        metavar="MODEL",
        help=".tflite files to time and predict; none, for a phone profile: its own models, "
        "each predicted without its family",
    )
    add_device_options(p)
    add_db_option(p)
    p.add_argument("--remeasure", action="store_true", help="ignore recorded measurements")
    p.add_argument("--baselines", action="store_true", help="also score the two baselines")
    p.add_argument(
        "--rounds",
        type=int,
        default=6,
        metavar="N",
        help="time each model once per round, N interleaved rounds; the truth is the minimum "
        "of the rounds' p10s, and even rounds are scored against odd ones for its "
        "repeatability (default 6)",
    )
    p.add_argument(
        "--format", choices=["table", "json"], default="table", help="output (default: table)"
    )
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
    kernels = report.get("kind") == "kernels"
    rows = [
        [
            r["op"],
            r["samples"],
            r["chosen"],
            *(_figure(r["metrics"].get(k)) for k in ("mape", "within_5", "within_10", "r2")),
        ]
        for r in report["op_types"]
    ]
    print()
    cv = "out-of-family " if kernels else ""
    kind = "kernel kind" if kernels else "op type"
    head = [kind, "n", "model", f"{cv}MAPE %", "±5 %", "±10 %", "R²"]
    print(text_table(head, rows, right={1, 3, 4, 5, 6}))
    if kernels:
        ev = report["evaluation"]
        s = ev["scores"]["leti"]
        print(
            f"\nend to end, each model predicted without its family ({ev['families']} "
            f"families): within ±10% {s['within_10']:.0f}%, ±5% {s['within_5']:.0f}%, "
            f"MAPE {s['mape']:.1f}%, Spearman {_figure(s['spearman'])}; composition: "
            f"{report['composition']['form']}"
        )
    print(
        f"\nsaved {path} ({report['samples']} measurements, {report['networks']} "
        f"{'models' if kernels else 'networks'}, {report['seconds']:.1f} s)"
    )
    return 0


def _figure(v: float | None) -> str:
    """A table cell: a figure to three digits, or a dash where there is none (too few rows
    to cross-validate)."""
    if v is None:
        return "–"
    return f"{v:.3f}" if abs(v) < 1000 else f"{v:.0f}"


def run_estimate(args: argparse.Namespace) -> int:
    import sys

    from ..services.estimate import estimator_or_stand_in

    graph = read_model(args.model)  # bad input fails before loading anything heavy
    est, note = estimator_or_stand_in(spec_from_args(args), lambda: database(args))
    if note:
        print(f"leti: note: {note}", file=sys.stderr)
    print(render(est.predict(graph), args.format).rstrip("\n"))
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from ..services.evaluate import evaluate

    result = evaluate(
        database(args),
        args.models,
        spec_from_args(args),
        remeasure=args.remeasure,
        baselines=args.baselines,
        binary=args.benchmark_binary,
        rounds=args.rounds,
    )
    if args.format == "json":
        print(json.dumps(result, indent=1, default=float))
        return 0
    if "protocol" in result:
        return _print_left_out(result)
    norm = "scores_normalised" in result
    rows = []
    for m in result["models"]:
        row = [
            Path(m["model"]).name,
            format_ms(m["measured_ms"]),
            format_ms(m["predicted_ms"]),
            f"{m['error_pct']:+.1f}%",
        ]
        if norm:
            row.append(f"{m['error_normalised_pct']:+.1f}%")
        rows.append(row)
    head = ["model", "measured", "predicted", "error"] + (["error, drift removed"] if norm else [])
    print(text_table(head, rows, right={1, 2, 3, 4}))
    _print_scores(result["scores"])
    _print_truth(result.get("truth"))
    d = result.get("drift") or {}
    if d.get("factor") is not None:
        f = d["factor"]
        state = (
            f"in another state than at calibration ({abs(f - 1) * 100:.0f}% "
            f"{'slower' if f > 1 else 'faster'})"
            if d["different_state"]
            else "in its calibration state"
        )
        print(
            f"\ndevice {state}: reference set x{f:.3f} of its calibration timings "
            f"(per round: {', '.join(f'x{x:.3f}' for x in d['factors'])})"
        )
        if norm:
            print("scores with the drift removed (truth divided by the least round factor):")
            _print_scores(result["scores_normalised"])
    return 0


def _print_truth(truth: dict | None) -> None:
    """The truth's repeatability beside the scores: a score is only as good as the truth."""
    if not truth:
        print("truth: recorded earlier, its repeatability not measured now (pass --remeasure)")
        return
    r = truth["repeatability"]
    if r.get("models"):
        print(
            f"truth ({truth['statistic']}, {truth['rounds']} rounds) agrees with itself, even "
            f"rounds against odd: {r['within_10']:.0f}% of models within ±10%, "
            f"{r['within_5']:.0f}% within ±5% (median gap {r['median_gap_pct']:.1f}%)"
        )
    if truth.get("warning"):
        print(f"warning: {truth['warning']}", file=sys.stderr)


def _print_left_out(result: dict) -> int:
    rows = []
    for m in result["models"]:
        ms = [format_ms(m["measured_ms"]), format_ms(m["predicted_ms"])]
        rows.append([m["model"], m["family"], *ms, f"{m['error_pct']:+.1f}%"])
    head = ["model", "family (left out)", "measured", "predicted", "error"]
    print(text_table(head, rows, right={2, 3, 4}))
    print(
        f"\n{result['device']}: {len(result['models'])} models of {result['families']} "
        f"families, {result['protocol']}"
    )
    _print_scores(result["scores"])
    print(f"90% interval covers {result['coverage_90']:.0f}% of the models (family by family)")
    if result.get("truth_spread_pct") is not None:
        print(
            f"truth's own spread: median run-to-run std/mean {result['truth_spread_pct']:.1f}%"
            " (published)"
        )
    return 0


def _print_scores(scores: dict) -> None:
    for name, s in scores.items():
        rho = "n/a (needs 3 models)" if s["spearman"] is None else f"{s['spearman']:.3f}"
        print(
            f"{name}: MAPE {s['mape']:.1f}%, within ±5% {s['within_5']:.0f}%, "
            f"within ±10% {s['within_10']:.0f}%, Spearman {rho}"
        )
