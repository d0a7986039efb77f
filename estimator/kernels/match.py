"""Which node of a rebuilt graph each published kernel row is: the two lists of kernel-forming
layers (convolutions, depthwise and grouped convolutions, poolings, concatenations, fully
connected layers), aligned in run order and checked shape by shape.

A published row describes its kernel with the dataset's features (``Input_shape`` as H = W,
``Input_channel``, ``Output_shape``, ``Stride``, ``Kernel``, ``Filter``, ``Group``); a
convolution's input there is the padded one when a PAD was merged into it. Converter versions
differ in two ways the check allows: today's converter folds a symmetric PAD into SAME padding
(the row then says H + padding where the graph says H), and writes a global average pooling
as AVERAGE_POOL_2D where the published models have MEAN.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..graph import ModelGraph, Node
from .labels import parse
from .plan import activation_name, is_global_pool, node_facts

KERNEL_OPS = frozenset(
    {
        "CONV_2D",
        "DEPTHWISE_CONV_2D",
        "FULLY_CONNECTED",
        "MEAN",
        "AVERAGE_POOL_2D",
        "MAX_POOL_2D",
        "CONCATENATION",
    }
)


def node_class(node: Node) -> str | None:
    """The layer class a graph node is compared as (None: no published row describes it)."""
    if node.op not in KERNEL_OPS or node.role != "compute":
        return None
    if node.op == "CONV_2D":
        return "grouped" if node_facts(node)["groups"] > 1 else "conv"
    if node.op == "AVERAGE_POOL_2D":
        return "global_pool" if is_global_pool(node) else "avg_pool"
    return {
        "DEPTHWISE_CONV_2D": "depthwise",
        "FULLY_CONNECTED": "dense",
        "MEAN": "global_pool",
        "MAX_POOL_2D": "max_pool",
        "CONCATENATION": "concat",
    }[node.op]


def row_class(operation: str, feature: dict[str, Any]) -> str:
    if operation == "AVERAGE_POOL_2D":
        return "global_pool" if str(feature.get("Output_shape")) == "1" else "avg_pool"
    return {
        "CONV_2D": "conv",
        "CONV_2D_GROUP": "grouped",
        "DEPTHWISE_CONV_2D": "depthwise",
        "MEAN": "global_pool",
        "MAX_POOL_2D": "max_pool",
        "FULLY_CONNECTED": "dense",
        "CONCATENATION": "concat",
    }.get(operation, operation.lower())


@dataclass
class Alignment:
    """Row index -> graph node index for every row that matched, and what did not."""

    pairs: list[tuple[int, int]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _int(v: Any) -> int | None:
    try:
        return int(float(v))
    except (TypeError, ValueError):
        return None


def shape_problems(node: Node, cls: str, feature: dict[str, Any], unpadded: float = 0) -> list[str]:
    """How a node's shapes differ from a row's features (empty: they agree); ``unpadded``: the
    height before the PAD that feeds the node, where one does."""
    f = node_facts(node)
    out = []

    def check(key: str, *allowed: float) -> None:
        v = _int(feature.get(key))
        if v is not None and v not in {int(a) for a in allowed}:
            out.append(f"{key} {v} vs {'/'.join(str(int(a)) for a in dict.fromkeys(allowed))}")

    padded = f["h"] + max((f["ho"] - 1) * f["stride"] + f["kernel"] - f["h"], 0)
    if cls == "dense":
        check("Input_channel", f["cin"])
        check("Filter", f["cout"])
    elif cls == "concat":
        check("Input_shape", f["h"])
        check("Filter", f["cout"])
    elif cls == "global_pool":
        check("Input_shape", f["h"])
        check("Input_channel", f["cin"])
    else:
        check("Input_shape", f["h"], padded, *([unpadded] if unpadded else []))
        check("Input_channel", f["cin"])
        check("Output_shape", f["ho"])
        check("Stride", f["stride"])
        check("Kernel", f["kernel"])
        if cls in ("conv", "grouped"):
            check("Filter", f["cout"])
        if cls == "grouped":
            check("Group", f["groups"])
    return out


def _before_pad(node: Node, made_by: dict[tuple[int, int], Node]) -> float:
    acts = [t for t in node.inputs if not t.is_constant]
    pad = made_by.get((node.subgraph, acts[0].index)) if acts else None
    if pad is None or pad.op != "PAD" or not pad.inputs or len(pad.inputs[0].shape) != 4:
        return 0.0
    return float(pad.inputs[0].shape[1])


def align(graph: ModelGraph, rows: Sequence[tuple[str, dict[str, Any]]]) -> Alignment:
    """Pair each (operation, feature) row with the graph node it describes: in run order, each
    row takes the earliest node not taken yet of its class whose shapes agree. (Converters
    may order independent branches differently, e.g. a residual block's projection before or
    after its squeeze-excitation, so the two lists need not be in the same order.)"""
    nodes = [(i, c) for i, n in enumerate(graph.nodes) if (c := node_class(n)) is not None]
    made_by = {(n.subgraph, t.index): n for n in graph.nodes for t in n.outputs}
    out = Alignment()
    taken: set[int] = set()
    for j, (op, feature) in enumerate(rows):
        if "node" in feature:  # a profiled run's row names its node (profiled_rows)
            i = int(feature["node"])
            if 0 <= i < len(graph.nodes) and graph.nodes[i].op == op:
                out.pairs.append((j, i))
                taken.add(i)
            else:
                out.problems.append(f"row {j + 1}: node {i} is not a {op}")
            continue
        cls = row_class(op, feature)
        same = [i for i, c in nodes if c == cls and i not in taken]
        if not same:
            out.problems.append(f"row {j + 1} ({cls}): no {cls} node left in the graph")
            continue
        why = ""
        for i in same:
            node = graph.nodes[i]
            wrong = shape_problems(node, cls, feature, _before_pad(node, made_by))
            if not wrong:
                out.pairs.append((j, i))
                taken.add(i)
                break
            why = why or f"node {i}: {'; '.join(wrong)}"
        else:
            out.problems.append(f"row {j + 1} ({cls}): no node of its shapes (first {why})")
    left = [i for i, _ in nodes if i not in taken]
    if left:
        out.problems.append(f"graph nodes {', '.join(map(str, left[:6]))} match no row")
    return out


def delegate_ids(graph: ModelGraph) -> dict[int, int]:
    """The GPU delegate's node id -> graph node index, for the model as it was run: the
    delegate numbers the operators of the main subgraph in order, and the node it adds for an
    operator's fused activation takes the next number (mobile-ml-benchmark's labels bear this
    out: MobileNetV2's ``convolution_2d_2_linked_:_relu_3``, then the PAD as 4, then
    ``depthwise_convolution_5_linked_:_relu_6``)."""
    out: dict[int, int] = {}
    next_id = 0
    for i, node in enumerate(graph.nodes):
        if node.subgraph != 0:
            continue
        out[next_id] = i
        next_id += 1
        if activation_name(node):
            out[next_id] = i
            next_id += 1
    return out


def profiled_rows(
    graph: ModelGraph, kernels: Sequence[tuple[str, float]]
) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows of a profiled run (label, µs) as kernel rows of the database: each names the
    graph node its label's first id is (``features["node"]``) with that node's op type and,
    for reading, the dataset's feature names; and what could not be placed."""
    ids = delegate_ids(graph)
    rows, problems = [], []
    for position, (text, us) in enumerate(kernels):
        lab = parse(text)
        node = ids.get(lab.ids[0]) if lab.ids else None
        if node is None:
            problems.append(f"kernel {position} ({text}): no node {lab.ids[:1]} in the graph")
            continue
        n = graph.nodes[node]
        f = node_facts(n)
        rows.append(
            {
                "position": position,
                "operation": n.op,
                "kernel": text,
                "time_us": us,
                "features": {
                    "node": node,
                    "Input_shape": f["h"],
                    "Input_channel": f["cin"],
                    "Output_shape": f["ho"],
                    "Stride": f["stride"],
                    "Kernel": f["kernel"],
                    "Filter": f["cout"],
                },
            }
        )
    return rows, problems


def report_dataset(folder: Path, skeletons: Path) -> int:
    """Check every model a published dataset names against its kernel rows, printing each
    one that does not match and why; 0 when all match."""
    import zipfile

    from ..devices.published import read_dataset
    from ..graph import read_model

    data = read_dataset(folder)
    rows: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    first = data.kernels[0].device_id if data.kernels else None
    for r in data.kernels:
        if r.device_id == first:
            rows.setdefault(r.model, []).append((r.operation, r.features))
    bad = 0
    with zipfile.ZipFile(skeletons) as z:
        names = set(z.namelist())
        for model, mine in sorted(rows.items()):
            member = f"{model}@224.tflite"
            if member not in names:
                print(f"{model}: no skeleton in {skeletons.name}")
                bad += 1
                continue
            a = align(read_model(z.read(member), name=model), mine)
            if not a.ok:
                bad += 1
                why = "; ".join(a.problems[:4])
                print(f"{model}: {len(a.pairs)} of {len(mine)} rows match; {why}")
    print(f"{len(rows) - bad} of {len(rows)} models match their kernel rows")
    return 1 if bad else 0
