"""What the runtime does to a graph beyond running each op: the ops it fuses into their
producer, the element-wise ops that cost more inside a chain than alone, and on a GPU the ops
its delegate refuses (they run on the CPU, splitting the graph into partitions). All are
learned from the device's own measurements — fusion and middle probes and the delegate's
reports — with a prior list only for op kinds no GPU measurement has settled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..features import TILE_CLASSES, op_kind, tile_index
from ..graph import Node
from ..ops import FREE_ROLES, GPU_PRIOR_SUPPORTED

if TYPE_CHECKING:
    from .batch import NodeBatch


@dataclass
class Runtime:
    gpu: bool = False
    # op kind -> {"supported": bool, "measured": n, "refused": n, "reason": str}
    support: dict[str, dict[str, Any]] = field(default_factory=dict)
    # "PRODUCER>CONSUMER" -> the consumer's share of its own cost left inside the pair
    fusion: dict[str, float] = field(default_factory=dict)
    # "OP@TILE" -> what an element-wise op costs between two ops, as a multiple of its cost
    # alone, where that is more (generate.pairs.Middle; TILE: features.tile_class)
    middle: dict[str, float] = field(default_factory=dict)

    def supported(self, kind: str, op: str) -> tuple[bool, str]:
        """(op kind ``kind`` of op type ``op`` runs on the GPU, why we think so)."""
        known = self.support.get(kind) or self.support.get(op)
        if known is not None:
            if known["supported"]:
                return True, ""
            reason = known.get("reason") or "refused"
            return False, (
                f"the GPU delegate refused {op} in {known['refused']} of "
                f"{known['measured']} measurements ({reason}): it runs on the CPU"
            )
        if op in GPU_PRIOR_SUPPORTED:
            return True, ""
        return False, (f"{op} was never measured on this GPU; by the prior list its "
                       "delegate cannot run it: it runs on the CPU")  # fmt: skip

    def on_cpu(self, batch: NodeBatch) -> np.ndarray:
        """bool per node: a GPU delegate hands it back to the CPU."""
        n = len(batch.segment)
        if not self.gpu or not n:
            return np.zeros(n, bool)
        kinds = batch.kinds
        pairs = zip(kinds.names, kinds.base_op(), strict=True)
        ok = np.array([self.supported(k, op)[0] for k, op in pairs], bool)
        return ~batch.role_in(FREE_ROLES) & ~ok[kinds.codes]

    def fused_share(self, batch: NodeBatch) -> np.ndarray:
        """Per node, the share of its single-op cost it keeps (0 when fused away): a consumer
        whose first activation input has no other reader, after a producer the fusion probes
        measured it with."""
        cols = batch.cols
        out = np.ones(len(cols.kind))
        cand = np.flatnonzero((cols.producer >= 0) & cols.single_reader)
        if not self.fusion or not len(cand):
            return out
        names, codes = batch.kinds.names, batch.kinds.codes
        index = {k: i for i, k in enumerate(names)}
        pairs = np.full((len(names), len(names)), np.nan)
        for key, share in self.fusion.items():
            producer, _, consumer = key.partition(">")
            if producer in index and consumer in index:
                pairs[index[producer], index[consumer]] = share
        shares = pairs[codes[cols.producer[cand]], codes[cand]]
        out[cand] = np.where(np.isnan(shares), 1.0, shares)
        return out

    def middle_share(self, batch: NodeBatch) -> np.ndarray:
        """Per node, the multiple of its single-op cost it pays inside the graph: an op of one
        activation input (and no scalar operand: a constant of one value runs another kernel,
        which pays nothing there) that the middle probes measured at its channel count's tile
        class, reading a tensor another node made and writing one another node reads; else 1."""
        cols = batch.cols
        if not self.middle:
            return np.ones(len(cols.kind))
        # a table of op kind x tile class, looked up for the whole batch at once (a search
        # loop predicts many models per call; a key string per node would cost per node)
        names, codes = batch.kinds.names, batch.kinds.codes
        index = {k: i for i, k in enumerate(names)}
        tiles = {t: j for j, t in enumerate(TILE_CLASSES)}
        table = np.ones((len(names), len(TILE_CLASSES)))
        for key, share in self.middle.items():
            op, _, tile = key.partition("@")
            if op in index and tile in tiles:
                table[index[op], tiles[tile]] = share
        inside = (cols.producer >= 0) & cols.output_read & (cols.n_inputs <= 1)
        inside &= cols.table["scalar"] == 0
        return np.where(inside, table[codes, tile_index(cols.cout)], 1.0)

    def kept_share(self, batch: NodeBatch) -> np.ndarray:
        """Per node, the multiple of its single-op cost it pays in the model: its fused share
        where the runtime folds it into its producer, else its middle share."""
        fused = self.fused_share(batch)
        return np.where(fused < 1.0, fused, self.middle_share(batch))

    def partitions(self, batch: NodeBatch, cpu: np.ndarray) -> np.ndarray:
        """Per model, how many contiguous GPU/CPU runs its main subgraph's operators form."""
        costed = ~batch.role_in(FREE_ROLES)
        idx = np.flatnonzero((batch.cols.subgraph == 0) & costed)
        c, seg = cpu[idx], batch.segment[idx]
        new = np.ones(len(idx), bool)
        new[1:] = (c[1:] != c[:-1]) | (seg[1:] != seg[:-1])
        return np.maximum(np.bincount(seg[new], minlength=batch.models), 1)

    def notes(self, nodes: list[Node], shares: np.ndarray) -> list[str]:
        out = []
        for n, share in zip(nodes, shares, strict=True):
            note = ""
            if self.gpu and n.role not in FREE_ROLES:
                ok, why = self.supported(op_kind(n), n.op)
                note = "" if ok else why
            if not note and share < 1.0:
                note = (f"fused into the op before it by the runtime (measured: it keeps "
                        f"{share * 100:.0f}% of its own cost there)")  # fmt: skip
            elif not note and share > 1.0:
                note = (
                    f"between two ops the runtime runs it at {share:.1f}x its cost alone "
                    "(measured by the middle probes)"
                )
            out.append(note)
        return out
