"""Render a ModelEstimate as a table, JSON, CSV or Google Model Explorer node data."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from .latency import ModelEstimate
from .tables import render


def as_json(est: ModelEstimate) -> dict[str, Any]:
    return {
        "model": est.model,
        "device": est.device,
        "calibrated": est.calibrated,
        "total_ms": est.total_ms,
        "total_interval_ms": list(est.total_interval_ms),
        "invoke_overhead_ms": est.invoke_overhead_ms,
        "partitions": est.partitions,
        "transfer_ms": est.transfer_ms,
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
            }
            for n in est.nodes
        ],
    }


def as_csv(est: ModelEstimate) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["subgraph", "index", "op", "ms", "low_ms", "high_ms", "share", "source"])
    for n in est.nodes:
        w.writerow([n.subgraph, n.index, n.op, f"{n.ms:.6g}", f"{n.interval_ms[0]:.6g}",
                    f"{n.interval_ms[1]:.6g}", f"{n.share:.6g}", n.source])  # fmt: skip
    return buf.getvalue()


def as_model_explorer(est: ModelEstimate, graph_names: dict[int, str]) -> dict[str, Any]:
    """Model Explorer node data: one graph per subgraph, node key = operator index."""
    graphs: dict[str, Any] = {}
    for n in est.nodes:
        g = graphs.setdefault(
            graph_names.get(n.subgraph, f"subgraph_{n.subgraph}"),
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


def as_table(est: ModelEstimate) -> str:
    rows = []
    for n in est.nodes:
        op = n.op if n.fused_activation == "NONE" else f"{n.op}+{n.fused_activation}"
        lo, hi = n.interval_ms
        flag = " (CPU)" if n.gpu_unsupported else ""
        rows.append(
            [n.key, op, n.ms, f"{lo:.3f}-{hi:.3f}", f"{n.share * 100:.1f}%", n.source + flag]
        )
    out = [render(["node", "op", "ms", "interval", "share", "source"], rows, right={2, 3, 4})]
    out.append("\nslowest 10:")
    slow = [[n.key, n.op, n.ms, f"{n.share * 100:.1f}%"] for n in est.slowest(10)]
    out.append(render(["node", "op", "ms", "share"], slow, right={2, 3}))
    lo, hi = est.total_interval_ms
    tag = "" if est.calibrated else "  [UNCALIBRATED: analytic estimate only]"
    out.append(
        f"\ntotal: {est.total_ms:.3f} ms (interval {lo:.3f}-{hi:.3f} ms) on {est.device}; "
        f"invoke overhead {est.invoke_overhead_ms:.3f} ms"
        + (
            f"; {est.partitions} GPU partitions, copies {est.transfer_ms:.3f} ms"
            if est.partitions > 1
            else ""
        )
        + tag
    )
    return "\n".join(out)


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
                    "source": {"enum": ["learned", "analytic", "free", "custom"]},
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


def dumps(obj: Any) -> str:
    return json.dumps(obj, indent=1)
