"""The work a build does: one item per model to measure, and how each model is made.

Five kinds: ``op`` (one operator from a generator configuration), ``extracted`` (one operator
cut out of a real model, with its real weights), ``network`` (a whole generated network,
measured end to end so the estimator learns what summing single ops misses), ``fusion``
(a producer -> consumer pair, to learn which ops the runtime folds into the one before) and
``profiled`` (a real model of the zoo, its skeleton given random weights, profiled kernel by
kernel and timed end to end on a phone's GPU).
Items carry a key, unique per device profile, that makes a rerun skip what is already
measured.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..features import op_kind, op_record
from ..graph import ModelGraph, Node, read_model
from . import netgen, singles
from .check import check_runs, check_single
from .config import GenerationError, OpConfig
from .pairs import Middle, Pair


@dataclass
class Built:
    """A model ready to time: its bytes and, for single ops, the node record training reads."""

    data: bytes
    record: dict[str, Any] | None = None


@dataclass
class WorkItem:
    key: str
    kind: str  # op | extracted | network | fusion
    op: str  # the op kind, "network:<family>" or "FUSION:<producer>><consumer>"
    label: str
    config: dict[str, Any]
    source: str
    make: Callable[[], Built] = field(repr=False)
    # variant(part, copies) -> model bytes: an op's N-copy models (part "op"), or a fusion
    # probe's producer "a", consumer "b" and pair "ab"; None when the item has no variants
    variant: Callable[[str, int], bytes] | None = field(default=None, repr=False)


def op_item(cfg: OpConfig) -> WorkItem:
    return WorkItem(cfg.key, "op", cfg.op, cfg.label(), cfg.params, cfg.source,
                    lambda: _op_model(cfg), lambda _part, n: _copies(cfg, n))  # fmt: skip


def fusion_item(pair: Pair | Middle) -> WorkItem:
    """A fusion or middle probe: both time parts "a", "b" and "ab" (``context.fusion_probe``)."""
    return WorkItem(pair.key, "fusion", pair.op, pair.label(), dict(pair.__dict__), "fusion",
                    lambda: _pair(pair), pair.build)  # fmt: skip


def _pair(pair: Pair | Middle) -> Built:
    data = pair.build("ab")
    check_runs(data, read_model(data, pair.label()), pair.label())
    return Built(data)


def network_item(spec: dict[str, Any]) -> WorkItem:
    label = (f"network {spec['family']} res={spec['res']} width={spec['width']} "
             f"depth={spec['depth']}")  # fmt: skip
    return WorkItem(network_key(spec), "network", f"network:{spec['family']}", label, spec,
                    "suite", lambda: _network(spec))  # fmt: skip


def zoo_item(name: str, size: int = 224) -> WorkItem:
    """A zoo model to profile on a phone's GPU (kernels in context and end to end)."""
    from .. import zoo

    family = zoo.family(name)
    config = {"model": name, "size": size, "family": family}

    def make() -> Built:
        from ..graph.skeleton import fill

        return Built(fill(zoo.skeleton(name, size), seed=size))

    return WorkItem(f"zoo:{name}", "profiled", f"zoo:{family}", f"{name} ({family}, {size} px)",
                    config, "zoo", make)  # fmt: skip


def network_key(spec: dict[str, Any]) -> str:
    return f"gen-{netgen.spec_key(spec)}"


def extracted_items(name: str, data: bytes, graph: ModelGraph, nodes: list[Node]) -> list[WorkItem]:
    """Items for ``nodes`` of the model ``name`` (``data``, parsed as ``graph``: the caller's
    one parse), each cut out with its real weights."""
    from .extract import extract_ops, signature

    if not nodes:
        return []
    subs = extract_ops(data, graph, nodes)
    items = []
    for n in nodes:
        config = {
            "extracted_from": name,
            "node": n.key,
            "inputs": [t.shape for t in n.inputs if not t.is_constant],
            "outputs": [t.shape for t in n.outputs],
        }
        built = Built(subs[n.key], op_record(n))
        label = f"{n.op} (node {n.key} of {name})"
        items.append(
            WorkItem(
                f"x{signature(n)}",
                "extracted",
                op_kind(n),
                label,
                config,
                "extracted",
                lambda b=built: b,
            )
        )
    return items


def _op_model(cfg: OpConfig) -> Built:
    """The config's model, built and checked (reader and one interpreter run)."""
    data = singles.build(cfg)
    return Built(data, op_record(check_single(cfg, data)))


def _copies(cfg: OpConfig, copies: int) -> bytes:
    data = singles.build_copies(cfg, copies)
    check_single(cfg, data, copies)
    return data


def _network(spec: dict[str, Any]) -> Built:
    label = f"network {netgen.spec_key(spec)} ({spec.get('family')})"
    try:
        data = netgen.build(spec)
    except GenerationError:
        raise
    except Exception as exc:  # the builder rejects a spec: the build reports it and goes on
        raise GenerationError(f"{label}: cannot be generated ({exc})") from None
    check_runs(data, read_model(data, label), label)
    return Built(data)
