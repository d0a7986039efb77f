"""The whole-network correction applied at prediction time: what summing single-op timings
misses inside a network, learned from whole generated networks (see ``learn.composition``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..ops import SAME_COMPUTATION
from ..tflite import Node

# Inside a network a thin PReLU runs slower than alone: measured on the host, a PReLU between
# two 1x1 convolutions at 128x128 adds 0.08 ms to the 0.04 ms it takes alone at 4 or 8
# channels, and nothing at 16; HARD_SWISH, LOGISTIC or a separate RELU there add nothing.
THIN_CHANNELS = 16
# Op types a thin-node context term can be learned for ("*": every thin node); training
# picks which set (or none) by leave-one-out.
THIN_SETS: tuple[tuple[str, ...], ...] = (("PRELU",), ("PRELU", "TRANSPOSE_CONV"), ("*",))
THIN_KEYS = ("PRELU", "TRANSPOSE_CONV", "*")


def thin_op(node: Node) -> str | None:
    """The op type (a custom op's builtin twin) of a node with few output channels, else None."""
    out = node.outputs[0].shape if node.outputs else []
    if not out or not 0 < out[-1] < THIN_CHANNELS:
        return None
    return SAME_COMPUTATION.get(node.op, node.op)


@dataclass
class Correction:
    """What summing single-op timings misses, learned from whole generated networks:

    measured ~= invoke_ms + per_node_ms * nodes + sum_i (scale + thin_i) * node_i
                + spill_ms_per_mb * sum_i spilled_mb_i

    (thin_i: ``thin_scales[op]`` for a node of fewer than THIN_CHANNELS output channels whose
    op has a term, or ``thin_scales["*"]`` when the term covers every thin node; else 0.)
    The last term: timed alone, an op finds its weights in the cache (as much of them as fit);
    in a network whose weights exceed the cache they stream from memory on every inference
    (generated networks with 28-68 MB of weights ran 0.5-1.2 ms slower than their layers
    alone). ``spill_mode`` says which bytes count: "network", every node's weights times the
    share of the network's weights the cache misses; or "beyond-alone" (:func:`spilled_mb`),
    only what the op did not already miss timed alone, so a single-op model is predicted as
    measured (a 5 MB classifier layer cost the same in MobileNetV2-0.35 as by itself)."""

    invoke_ms: float = 0.0
    scale: float = 1.0
    per_node_ms: float = 0.0
    networks: int = 0
    thin_scales: dict[str, float] = field(default_factory=dict)
    spill_ms_per_mb: float = 0.0
    cache_mb: float | None = None
    spill_mode: str = "beyond-alone"
    terms: list[str] = field(default_factory=list)
    log_q10: float | None = None
    log_q90: float | None = None
    mape_before: float | None = None
    mape_after: float | None = None

    def thin_extra(self, node: Node) -> float:
        op = thin_op(node) if self.thin_scales else None
        if op is None:
            return 0.0
        return self.thin_scales.get(op, self.thin_scales.get("*", 0.0))

    def spilled(self, weights_mb: np.ndarray) -> np.ndarray:
        """Per node, the megabytes of weights it reads from memory only inside the network."""
        if self.cache_mb is None:
            return np.zeros_like(weights_mb)
        return spilled_mb(weights_mb, self.cache_mb, self.spill_mode)


# Cache sizes (MB) and spill forms tried for the weight-spill term; leave-one-out picks.
CACHE_MB = (4.0, 8.0, 16.0, 24.0, 32.0, 48.0)
SPILL_MODES = ("network", "beyond-alone")


def _miss(mb: np.ndarray | float, cache_mb: float) -> np.ndarray:
    """Share of a cyclically read footprint of ``mb`` that a cache of ``cache_mb`` misses."""
    mb = np.asarray(mb, dtype=float)
    return np.where(mb > cache_mb, 1.0 - cache_mb / np.maximum(mb, 1e-12), 0.0)


def spilled_mb(weights_mb: np.ndarray, cache_mb: float, mode: str = "beyond-alone") -> np.ndarray:
    """Weights each node misses in the cache within the network (whose total weights it
    cycles through), less (``beyond-alone``) what it missed timed alone (its own only)."""
    missed = weights_mb * _miss(float(weights_mb.sum()), cache_mb)
    if mode == "network":
        return missed
    return np.maximum(missed - weights_mb * _miss(weights_mb, cache_mb), 0.0)
