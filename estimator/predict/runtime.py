"""What the runtime does to a graph beyond running each op: the ops it fuses into their
producer, and on a GPU the ops its delegate refuses (they run on the CPU, splitting the graph
into partitions). Both are learned from the device's own measurements — fusion probes and
the delegate's reports — with a prior list only for op kinds no GPU measurement has settled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..features import op_kind
from ..graph import Node
from ..ops import FREE_ROLES, GPU_PRIOR_SUPPORTED


@dataclass
class Runtime:
    gpu: bool = False
    # op kind -> {"supported": bool, "measured": n, "refused": n, "reason": str}
    support: dict[str, dict[str, Any]] = field(default_factory=dict)
    # "PRODUCER>CONSUMER" -> the consumer's share of its own cost left inside the pair
    fusion: dict[str, float] = field(default_factory=dict)

    def supported(self, node: Node) -> tuple[bool, str]:
        """(runs on the GPU, why we think so)."""
        kind = op_kind(node)
        known = self.support.get(kind) or self.support.get(node.op)
        if known is not None:
            if known["supported"]:
                return True, ""
            reason = known.get("reason") or "refused"
            return False, (
                f"the GPU delegate refused {node.op} in {known['refused']} of "
                f"{known['measured']} measurements ({reason}): it runs on the CPU"
            )
        if node.op in GPU_PRIOR_SUPPORTED:
            return True, ""
        return False, (f"{node.op} was never measured on this GPU; by the prior list its "
                       "delegate cannot run it: it runs on the CPU")  # fmt: skip

    def on_cpu(self, nodes: list[Node]) -> np.ndarray:
        if not self.gpu:
            return np.zeros(len(nodes), bool)
        return np.array([n.role not in FREE_ROLES and not self.supported(n)[0]
                         for n in nodes], bool)  # fmt: skip

    def fused_share(self, nodes: list[Node]) -> np.ndarray:
        """Per node, the share of its single-op cost it keeps (0 when fused away)."""
        out = np.ones(len(nodes))
        if not self.fusion:
            return out
        producer: dict[int, Node] = {}
        readers: dict[int, int] = {}
        for n in nodes:
            for t in n.outputs:
                producer[t.index] = n
            for t in n.inputs:
                readers[t.index] = readers.get(t.index, 0) + 1
        for i, n in enumerate(nodes):
            acts = [t for t in n.inputs if not t.is_constant]
            if not acts or acts[0].index not in producer or readers.get(acts[0].index, 0) != 1:
                continue
            share = self.fusion.get(f"{op_kind(producer[acts[0].index])}>{op_kind(n)}")
            if share is not None:
                out[i] = share
        return out

    def partitions(self, nodes: list[Node], cpu: np.ndarray) -> int:
        """How many contiguous GPU/CPU runs the main subgraph's operators form."""
        runs, prev = 0, None
        for n, on_cpu in zip(nodes, cpu, strict=True):
            if n.subgraph != 0 or n.role in FREE_ROLES:
                continue
            if on_cpu != prev:
                runs += 1
                prev = on_cpu
        return max(runs, 1)

    def notes(self, nodes: list[Node]) -> list[str]:
        out = []
        shares = self.fused_share(nodes)
        for n, share in zip(nodes, shares, strict=True):
            note = ""
            if self.gpu and n.role not in FREE_ROLES:
                ok, why = self.supported(n)
                note = "" if ok else why
            if not note and share < 1.0:
                note = (f"fused into the op before it by the runtime (measured: it keeps "
                        f"{share * 100:.0f}% of its own cost there)")  # fmt: skip
            out.append(note)
        return out
