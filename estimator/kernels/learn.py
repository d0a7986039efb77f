"""Learn a delegate's :class:`~.rules.KernelRules` from the kernels it labelled.

Input: graphs whose kernel-forming nodes carry the label of the kernel the delegate ran for
them (a published row aligned by :mod:`.match`, or a profiled kernel). For every such node the
walk of :mod:`.plan` is replayed: each element-wise node the planner would consider linking is
a linked or not-linked example of its keys (the label's linked names say which), each head is
an example of what the node's op type becomes, and a label that covers two kernel-forming
nodes is an example of a pair. Trees are scikit-learn's decision trees, kept as plain JSON.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..graph import ModelGraph
from ..ops import LINKABLE
from .labels import Label
from .plan import Wiring, activation_name, node_facts, node_name, operand, same_shape
from .rules import FACTS, KernelRules, link_keys

# Trees stay small: a rule of thumb a reader can follow, not a memory of every layer.
MAX_DEPTH = 8
MIN_LEAF = 3


@dataclass
class Labelled:
    """One graph and the label of the kernel each of its kernel-forming nodes belongs to."""

    graph: ModelGraph
    labels: dict[int, Label]  # graph node index -> label


def chain(graph: ModelGraph, wiring: Wiring, last: int, start_with_activation: bool):
    """The element-wise nodes the planner would try to link after node ``last``, in order:
    (name, node index or -1 for a fused activation, same shape, operand)."""
    node = graph.nodes[last]
    if start_with_activation and activation_name(node):
        yield activation_name(node), -1, True, "none"
    while wiring.sole_reader(graph, last):
        n = graph.nodes[last]
        key = (n.subgraph, n.outputs[0].index)
        readers = [
            j
            for j, m in enumerate(graph.nodes)
            if m.subgraph == n.subgraph
            and any(t.index == key[1] for t in m.inputs if not t.is_constant)
        ]
        nxt = readers[0]
        m = graph.nodes[nxt]
        if m.op not in LINKABLE or wiring.latest_source(graph, nxt) != last:
            return
        yield node_name(m), nxt, same_shape(n, m), operand(m)
        act = activation_name(m)
        if act:
            yield act, -1, True, "none"
        last = nxt


def learn(examples: Iterable[Labelled]) -> KernelRules:
    links: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    becomes: dict[str, list[tuple[dict[str, float], str]]] = defaultdict(list)
    pairs: dict[str, list[tuple[dict[str, float], str]]] = defaultdict(list)
    kernels = 0
    for ex in examples:
        g, wiring = ex.graph, Wiring.of(ex.graph)
        by_text: dict[str, list[int]] = defaultdict(list)
        for i, lab in ex.labels.items():
            by_text[lab.text].append(i)
        for nodes in by_text.values():
            nodes.sort()
            lab = ex.labels[nodes[0]]
            first = g.nodes[nodes[0]]
            kernels += 1
            if len(nodes) == 1:
                becomes[first.op].append((node_facts(first), lab.head))
            else:  # one kernel over two kernel-forming nodes
                second = g.nodes[nodes[1]]
                pairs[f"{node_name(first)}+{second.op}"].append((node_facts(second), lab.head))
            _follow_links(g, wiring, nodes, lab, links)
            if len(nodes) == 1:
                _no_pair(g, wiring, nodes[0], lab, ex.labels, pairs)
    rules = KernelRules(
        becomes={op: _tree(rows) for op, rows in sorted(becomes.items())},
        links={k: v for k, v in sorted(links.items())},
        pairs={k: _tree(rows) for k, rows in sorted(pairs.items())},
    )
    rules.learned_from = {"kernels": kernels, "graphs": None}
    return rules


def _follow_links(
    g: ModelGraph, wiring: Wiring, nodes: list[int], lab: Label, links: dict[str, list[int]]
) -> None:
    """Linked / not-linked examples along the chain after the kernel's last node."""
    names = list(lab.linked_names)
    head = lab.head
    seq = []
    for i, n in enumerate(nodes):  # a pair's first node may bring its activation inside
        if i < len(nodes) - 1:
            act = activation_name(g.nodes[n])
            if act and names and names[0] == act:
                names.pop(0)
            continue
        seq = list(chain(g, wiring, n, True))
    for name, _node, same, op in seq:
        linked = bool(names) and names[0] == name
        for key in link_keys(head, name, same, op):
            links[key][0] += int(linked)
            links[key][1] += 1
        if not linked:
            return
        names.pop(0)


def _no_pair(
    g: ModelGraph,
    wiring: Wiring,
    node: int,
    lab: Label,
    labels: dict[int, Label],
    pairs: dict[str, list[tuple[dict[str, float], str]]],
) -> None:
    """A kernel-forming node whose output, after its linked nodes, a kernel-forming node of
    another label reads: an example of a pair that stays apart, where pairs were seen."""
    last = node
    for _name, j, _s, _o in chain(g, wiring, node, True):
        if j >= 0:
            last = j
    if not wiring.sole_reader(g, last):
        return
    out = g.nodes[last].outputs[0].index
    for j, m in enumerate(g.nodes):
        if (
            j in labels
            and labels[j].text != lab.text
            and any(t.index == out for t in m.inputs if not t.is_constant)
        ):
            pairs[f"{node_name(g.nodes[node])}+{m.op}"].append((node_facts(m), ""))
            return


def _tree(rows: list[tuple[dict[str, float], str]]) -> dict[str, Any]:
    """A decision tree over the facts naming the most common head per leaf, as JSON."""
    heads = Counter(h for _, h in rows)
    if len(heads) == 1 or len(rows) < 2 * MIN_LEAF:
        return {"head": heads.most_common(1)[0][0], "n": len(rows)}
    from sklearn.tree import DecisionTreeClassifier

    X = [[f[k] for k in FACTS] for f, _ in rows]
    y = [h for _, h in rows]
    clf = DecisionTreeClassifier(
        max_depth=MAX_DEPTH, min_samples_leaf=MIN_LEAF, random_state=0
    ).fit(X, y)
    t = clf.tree_

    def node(k: int) -> dict[str, Any]:
        if t.children_left[k] < 0:
            return {
                "head": str(clf.classes_[int(t.value[k][0].argmax())]),
                "n": int(t.n_node_samples[k]),
            }
        left, right = node(t.children_left[k]), node(t.children_right[k])
        if "head" in left and "head" in right and left["head"] == right["head"]:
            return {"head": left["head"], "n": left["n"] + right["n"]}
        return {"fact": FACTS[t.feature[k]], "at": float(t.threshold[k]), "le": left, "gt": right}

    return node(0)
