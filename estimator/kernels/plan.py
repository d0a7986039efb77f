"""A graph's nodes as the kernels a GPU delegate runs, by the rules of :mod:`.rules`.

The walk follows the delegate's own order: operator by operator; a node that costs nothing
per inference (weight preparation, zero padding merged into the next convolution, shape
arithmetic) makes no kernel; an element-wise node whose input comes last from the kernel just
made, with no other reader, is linked into that kernel when the rules say the delegate links
it; an op's fused activation is the delegate's next node, linked or a kernel of its own; any
other node is a kernel, of the kind the rules' ``becomes`` tree names.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..features import op_record
from ..graph import ModelGraph, Node
from ..ops import FREE_ROLES, GPU_ACTIVATION_NAMES, GPU_NODE_NAMES, LINKABLE
from .rules import KernelRules


@dataclass
class Kernel:
    """One kernel: the nodes it computes (``primary``, whose shapes price it, first; others
    that the delegate merged into it after), the element-wise nodes linked into it, and the
    delegate names of what it covers, as in a profiler's label."""

    head: str
    primary: list[int]  # graph.nodes indices
    linked: list[int] = field(default_factory=list)  # nodes linked in (a fused activation: -1-i)
    names: list[str] = field(default_factory=list)  # delegate names of the linked nodes

    @property
    def nodes(self) -> list[int]:
        """Graph node indices the kernel covers (a fused activation's node is its op's)."""
        out = list(self.primary)
        out += [i if i >= 0 else -1 - i for i in self.linked]
        return list(dict.fromkeys(out))

    @property
    def last(self) -> int:
        """The node whose output the kernel writes."""
        tail = self.linked[-1] if self.linked else self.primary[-1]
        return tail if tail >= 0 else -1 - tail

    def label(self) -> str:
        """The kernel in the benchmark_model profiler's spelling (node indices of the graph)."""
        parts = [f"{self.head} {' '.join(str(i) for i in self.primary)}"]
        parts += [
            f"{n} {i if i >= 0 else -1 - i}" for n, i in zip(self.names, self.linked, strict=True)
        ]
        return " -> ".join(parts)


def node_name(node: Node) -> str:
    """The delegate's name for the node it makes of ``node``."""
    if node.op == "AVERAGE_POOL_2D" and is_global_pool(node):
        return "mean"
    return GPU_NODE_NAMES.get(node.op, node.op.lower())


def is_global_pool(node: Node) -> bool:
    out = node.outputs[0].shape if node.outputs else []
    acts = [t for t in node.inputs if not t.is_constant]
    return len(out) == 4 and out[1] == out[2] == 1 and bool(acts) and acts[0].shape[1] > 1


def activation_name(node: Node) -> str | None:
    act = node.fused_activation
    if act == "NONE":
        return None
    return GPU_ACTIVATION_NAMES.get(act, act.lower())


def node_facts(node: Node) -> dict[str, float]:
    """The shape facts a ``becomes`` tree splits on (:data:`.rules.FACTS`)."""
    rec = op_record(node)
    o = rec["options"]
    ins, out, w = rec["in_shape"], rec["out_shape"], rec["w_shape"]
    cin = ins[-1] if ins else 0
    groups = 1.0
    if node.op == "CONV_2D" and len(w) == 4 and w[-1] > 0:
        groups = cin / w[-1]
    return {
        "kernel": float(o.get("kernel_h", w[1] if len(w) == 4 else 1)),
        "stride": float(o.get("stride_h", 1)),
        "dilation": float(o.get("dilation_h_factor", 1)),
        "cin": float(cin),
        "cout": float(out[-1] if out else 0),
        "groups": float(groups),
        "h": float(ins[1] if len(ins) == 4 else 1),
        "w": float(ins[2] if len(ins) == 4 else 1),
        "ho": float(out[1] if len(out) == 4 else 1),
        "wo": float(out[2] if len(out) == 4 else 1),
        # 4x4 output tiles: what a Winograd F(4x4, 3x3) kernel computes in parallel
        "tiles": float(
            -(-(out[1] if len(out) == 4 else 1) // 4) * -(-(out[2] if len(out) == 4 else 1) // 4)
        ),
    }


@dataclass
class Wiring:
    """Who produces and who reads each tensor of one graph."""

    producer: dict[tuple[int, int], int]
    readers: dict[tuple[int, int], int]

    @classmethod
    def of(cls, graph: ModelGraph) -> Wiring:
        producer: dict[tuple[int, int], int] = {}
        readers: dict[tuple[int, int], int] = {}
        for i, n in enumerate(graph.nodes):
            for t in n.outputs:
                producer[(n.subgraph, t.index)] = i
            for t in n.inputs:
                if not t.is_constant:
                    readers[(n.subgraph, t.index)] = readers.get((n.subgraph, t.index), 0) + 1
        return cls(producer, readers)

    def latest_source(self, graph: ModelGraph, i: int) -> int | None:
        """The node that produced the last-computed activation input of node ``i``."""
        n = graph.nodes[i]
        found = [
            self.producer.get((n.subgraph, t.index), -1) for t in n.inputs if not t.is_constant
        ]
        found = [f for f in found if f >= 0]
        return max(found) if found else None

    def sole_reader(self, graph: ModelGraph, i: int) -> bool:
        n = graph.nodes[i]
        return len(n.outputs) == 1 and self.readers.get((n.subgraph, n.outputs[0].index)) == 1


def operand(node: Node) -> str:
    """An element-wise node's other operand: none (unary), a constant, or a tensor."""
    if len(node.inputs) < 2:
        return "none"
    return "const" if any(t.is_constant for t in node.inputs) else "tensor"


def same_shape(a: Node, b: Node) -> bool:
    return bool(a.outputs and b.outputs) and a.outputs[0].shape == b.outputs[0].shape


def plan(graph: ModelGraph, rules: KernelRules) -> list[Kernel]:
    """The kernels the delegate runs for ``graph`` (see the module docstring)."""
    wiring = Wiring.of(graph)
    kernels: list[Kernel] = []
    owner: dict[int, int] = {}  # node -> index of the kernel that writes its output
    for i, node in enumerate(graph.nodes):
        if node.role in FREE_ROLES:
            continue
        k = _link_target(graph, wiring, kernels, owner, i, rules)
        if k is not None:
            kernels[k].linked.append(i)
            kernels[k].names.append(node_name(node))
        else:
            k = _pair_target(graph, wiring, kernels, owner, i, rules)
            if k is not None:
                kernels[k].primary.append(i)
                kernels[k].head = rules.pair(kernels[k].head, node.op, node_facts(node))
            else:
                head = rules.head(node.op, node_facts(node), node_name(node))
                kernels.append(Kernel(head, [i]))
                k = len(kernels) - 1
        owner[i] = k
        act = activation_name(node)
        if act is None:
            continue
        kern = kernels[k]
        if rules.links_into(kern.head, act, True, "none"):
            kern.linked.append(-1 - i)
            kern.names.append(act)
        else:
            kernels.append(Kernel(act, [i]))
            owner[i] = len(kernels) - 1
    return kernels


def _link_target(
    graph: ModelGraph,
    wiring: Wiring,
    kernels: list[Kernel],
    owner: dict[int, int],
    i: int,
    rules: KernelRules,
) -> int | None:
    node = graph.nodes[i]
    if node.op not in LINKABLE:
        return None
    src = wiring.latest_source(graph, i)
    if src is None or src not in owner or not wiring.sole_reader(graph, src):
        return None
    k = owner[src]
    if kernels[k].last != src:
        return None
    ok = rules.links_into(
        kernels[k].head, node_name(node), same_shape(graph.nodes[src], node), operand(node)
    )
    return k if ok else None


def _pair_target(
    graph: ModelGraph,
    wiring: Wiring,
    kernels: list[Kernel],
    owner: dict[int, int],
    i: int,
    rules: KernelRules,
) -> int | None:
    """The kernel a kernel-forming node joins as a second computation (``rules.pairs``)."""
    if not rules.pairs:
        return None
    src = wiring.latest_source(graph, i)
    if src is None or src not in owner or not wiring.sole_reader(graph, src):
        return None
    k = owner[src]
    kern = kernels[k]
    if kern.last != src or len(kern.primary) > 1:
        return None
    node = graph.nodes[i]
    return k if rules.pair(kern.head, node.op, node_facts(node)) else None
