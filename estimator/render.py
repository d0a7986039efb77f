"""Renderers of an estimate, one registry for the CLI and the viewer (as Datasette keeps its
output renderers): a table, JSON, CSV, or Google Model Explorer node data.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .predict.results import ModelEstimate, format_ms


def text_table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], right: set[int] | None = None
) -> str:
    """Align columns; numeric columns listed in ``right`` are right-aligned."""
    right = right or set()
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        parts = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(parts).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def shape_str(shape: Sequence[int]) -> str:
    return "x".join("?" if d < 0 else str(d) for d in shape) if shape else "scalar"


@dataclass(frozen=True)
class Renderer:
    name: str
    mimetype: str
    extension: str
    render: Callable[[ModelEstimate], str]


RENDERERS: dict[str, Renderer] = {}


def renderer(name: str, mimetype: str, extension: str) -> Callable:
    def register(fn: Callable[[ModelEstimate], str]) -> Callable[[ModelEstimate], str]:
        RENDERERS[name] = Renderer(name, mimetype, extension, fn)
        return fn

    return register


def render(est: ModelEstimate, fmt: str) -> str:
    return RENDERERS[fmt].render(est)


def as_json(est: ModelEstimate) -> dict[str, Any]:
    return {
        "model": est.model,
        "device": est.device,
        "calibrated": est.calibrated,
        "total_ms": est.total_ms,
        "total_interval_ms": list(est.total_interval_ms),
        "analytic_share": est.analytic_share,
        "invoke_overhead_ms": est.invoke_overhead_ms,
        "partitions": est.partitions,
        "cpu_fallback_ms": est.cpu_fallback_ms,
        "nodes": [
            {
                "subgraph": n.subgraph,
                "index": n.index,
                "op": n.op,
                "ms": n.ms,
                "interval_ms": list(n.interval_ms),
                "share": n.share,
                "source": n.source,
                "gpu_unsupported": n.gpu_unsupported,
                "note": n.note,
                **({"kernel": n.kernel} if est.kernels is not None else {}),
            }
            for n in est.nodes
        ],
        **({"kernels": [
            {"index": k.index, "label": k.label, "head": k.head, "nodes": k.nodes, "ms": k.ms,
             "interval_ms": list(k.interval_ms), "priced": k.priced}
            for k in est.kernels
        ]} if est.kernels is not None else {}),
    }  # fmt: skip


@renderer("json", "application/json", "json")
def _json(est: ModelEstimate) -> str:
    return json.dumps(as_json(est), indent=1)


@renderer("csv", "text/csv", "csv")
def as_csv(est: ModelEstimate) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["subgraph", "index", "op", "ms", "low_ms", "high_ms", "share", "source"])
    for n in est.nodes:
        w.writerow([n.subgraph, n.index, n.op, f"{n.ms:.6g}", f"{n.interval_ms[0]:.6g}",
                    f"{n.interval_ms[1]:.6g}", f"{n.share:.6g}", n.source])  # fmt: skip
    return buf.getvalue()


def as_model_explorer(est: ModelEstimate) -> dict[str, Any]:
    """Model Explorer node data: one graph per subgraph, node key = operator index."""
    graphs: dict[str, Any] = {}
    for n in est.nodes:
        name = est.subgraphs[n.subgraph] if n.subgraph < len(est.subgraphs) else ""
        g = graphs.setdefault(
            name or f"subgraph_{n.subgraph}",
            {
                "results": {},
                "gradient": [
                    {"stop": 0, "bgColor": "#fff5eb"},
                    {"stop": 0.5, "bgColor": "#fd8d3c"},
                    {"stop": 1, "bgColor": "#7f2704"},
                ],
            },
        )
        g["results"][str(n.index)] = {"value": n.ms}
    return {"graphsData": graphs}


@renderer("model-explorer", "application/json", "model-explorer.json")
def _model_explorer(est: ModelEstimate) -> str:
    return json.dumps(as_model_explorer(est), indent=1)


@renderer("table", "text/plain", "txt")
def as_table(est: ModelEstimate) -> str:
    rows = []
    kernels = est.kernels is not None
    for n in est.nodes:
        op = n.op if n.fused_activation == "NONE" else f"{n.op}+{n.fused_activation}"
        lo, hi = n.interval_ms
        flag = " (CPU)" if n.gpu_unsupported else ""
        row = [n.key, op, format_ms(n.ms), f"{format_ms(lo)} - {format_ms(hi)}",
               f"{n.share * 100:.1f}%", n.source + flag]  # fmt: skip
        if kernels:
            row.append(_kernel_cell(n))
        rows.append(row)
    head = ["node", "op", "latency", "interval", "share", "source"]
    head += ["kernel"] if kernels else []
    out = [text_table(head, rows, right={2, 3, 4})]
    out.append("\nslowest 10:")
    slow = [[n.key, n.op, format_ms(n.ms), f"{n.share * 100:.1f}%"] for n in est.slowest(10)]
    out.append(text_table(["node", "op", "latency", "share"], slow, right={2, 3}))
    lo, hi = est.total_interval_ms
    tag = "" if est.calibrated else "  [UNCALIBRATED: analytic estimate only]"
    analytic = (f"; {est.analytic_share * 100:.0f}% of it priced analytically"
                if est.analytic_share >= 0.0005 else "")  # fmt: skip
    parts = ""
    if est.partitions > 1:
        cpu = format_ms(est.cpu_fallback_ms)
        parts = f"; {est.partitions} GPU/CPU partitions, {cpu} on the CPU"
    if est.kernels is not None:
        priced = sum(k.priced for k in est.kernels)
        analytic = (f"; {len(est.kernels)} delegate kernels, {priced} priced by their kind's "
                    "regressor, the rest by the composition")  # fmt: skip
    out.append(
        f"\ntotal: {format_ms(est.total_ms)} (interval {format_ms(lo)} - {format_ms(hi)}) on "
        f"{est.device}; per-run overhead {format_ms(est.invoke_overhead_ms)}"
        f"{analytic}{parts}{tag}"
    )
    return "\n".join(out)


def _kernel_cell(n: Any) -> str:
    """The kernel a node starts (its label) or is linked into ("in" its first node)."""
    if n.kernel is None:
        return ""
    if n.source != "fused":
        return n.kernel
    head, first = n.kernel.split(" ")[:2]
    return f"in {head} {first}"


ESTIMATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["model", "device", "total_ms", "total_interval_ms", "nodes"],
    "properties": {
        "model": {"type": "string"},
        "device": {"type": "string"},
        "total_ms": {"type": "number", "minimum": 0},
        "total_interval_ms": {
            "type": "array",
            "items": {"type": "number"},
            "minItems": 2,
            "maxItems": 2,
        },
        "nodes": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["subgraph", "index", "op", "ms", "interval_ms", "share", "source"],
                "properties": {
                    "subgraph": {"type": "integer", "minimum": 0},
                    "index": {"type": "integer", "minimum": 0},
                    "op": {"type": "string"},
                    "ms": {"type": "number", "minimum": 0},
                    "interval_ms": {
                        "type": "array",
                        "items": {"type": "number"},
                        "minItems": 2,
                        "maxItems": 2,
                    },
                    "share": {"type": "number", "minimum": 0, "maximum": 1},
                    "source": {"enum": ["learned", "analytic", "free", "custom", "fused"]},
                },
            },
        },
    },
}

MODEL_EXPLORER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["graphsData"],
    "properties": {
        "graphsData": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["results"],
                "properties": {
                    "results": {
                        "type": "object",
                        "propertyNames": {"pattern": "^[0-9]+$"},
                        "additionalProperties": {
                            "type": "object",
                            "required": ["value"],
                            "properties": {"value": {"type": "number"}},
                        },
                    },
                    "gradient": {
                        "type": "array",
                        "items": {"type": "object", "required": ["stop"]},
                    },
                },
            },
        }
    },
}
