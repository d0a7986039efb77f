"""``leti inspect``: show what the graph reader sees in a model."""

from __future__ import annotations

import argparse
import json

from ..graph import ModelGraph, read_model
from ..render import text_table
from .options import COMMON


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "inspect", parents=[COMMON], help="list a model's operators with shapes, cost and role"
    )
    p.add_argument("model", help="path to a .tflite file")
    p.add_argument(
        "--format", choices=["table", "json"], default="table", help="output (default: table)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    graph = read_model(args.model)
    if args.format == "json":
        print(json.dumps(graph.to_dict(), indent=1))
    else:
        print(table(graph))
    return 0


def shape_str(shape: list[int], inferred: bool = False) -> str:
    text = "x".join("?" if d < 0 else str(d) for d in shape) if shape else "scalar"
    return text + ("*" if inferred else "")


def table(graph: ModelGraph) -> str:
    rows = []
    inferred = False
    for n in graph.nodes:
        act = [t for t in n.inputs if not t.is_constant]
        ins = ",".join(shape_str(t.shape, t.inferred) for t in act) or "-"
        outs = ",".join(shape_str(t.shape, t.inferred) for t in n.outputs)
        inferred = inferred or any(t.inferred for t in act + n.outputs)
        op = n.op if n.fused_activation == "NONE" else f"{n.op}+{n.fused_activation}"
        moved = (n.bytes_activations_read + n.bytes_weights_read + n.bytes_written) / 1024
        rows.append([n.key, op, ins, outs, n.flops / 1e6, moved, n.params, n.role])
    t = graph.totals()
    moved = (t["bytes_activations_read"] + t["bytes_weights_read"] + t["bytes_written"]) / 1024
    rows.append(["", "TOTAL", "", "", t["flops"] / 1e6, moved, t["params"], ""])
    head = ["node", "op", "inputs", "outputs", "MFLOPs", "KB moved", "params", "role"]
    summary = (
        f"{graph.path}: {t['operators']} operators in {len(graph.subgraphs)} subgraph(s), "
        f"{t['macs'] / 1e6:.2f} M MACs, {t['params']} parameters, "
        f"{graph.size_bytes / 1024:.1f} KB file"
    )
    if inferred:
        summary += "\n* shape resolved by shape propagation (the file leaves it dynamic)"
    return text_table(head, rows, right={4, 5, 6}) + "\n\n" + summary
