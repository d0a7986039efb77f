"""Single-operator benchmark models, one registry entry per op kind: how to build it with the
flatbuffer builder, how to sample a plausible configuration, how big it is, and how to
recognise it in a real model (so a real model's layers can be regenerated and measured).

The op kinds live in :mod:`.conv`, :mod:`.elementwise`, :mod:`.layout` and
:mod:`.quantized`; importing this package registers them all.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ...graph import Node
from ...graph.shapes import ShapeError
from ..config import MAX_ELEMENTS, MAX_MACS, GenerationError, OpConfig
from ..layers import Net

Params = dict[str, Any]


@dataclass(frozen=True)
class Single:
    op: str  # the op kind: a TFLite op type, ":INT8" for the quantized variant
    build: Callable[[Net, Params], None]
    sample: Callable[[random.Random], Params]
    size: Callable[[Params], tuple[float, float]]  # (MACs, elements of the largest tensor)
    from_node: Callable[[Node], Params | None] | None = None


SINGLES: dict[str, Single] = {}


def single(
    op: str,
    sample: Callable[[random.Random], Params],
    size: Callable[[Params], tuple[float, float]],
    from_node: Callable[[Node], Params | None] | None = None,
) -> Callable[[Callable[[Net, Params], None]], Callable[[Net, Params], None]]:
    """Register the decorated builder as op kind ``op``."""

    def register(build: Callable[[Net, Params], None]) -> Callable[[Net, Params], None]:
        SINGLES[op] = Single(op, build, sample, size, from_node)
        return build

    return register


def spec(op: str) -> Single:
    found = SINGLES.get(op)
    if found is None:
        raise GenerationError(f"no generator for op type {op}")
    return found


def build(cfg: OpConfig) -> bytes:
    """The configuration's single-op model (weights seeded by the configuration itself)."""
    net = Net(seed=int(cfg.key[:8], 16), name=cfg.op)
    try:
        spec(cfg.op).build(net, cfg.params)
        return net.build(description=f"leti-view: {cfg.label()}")
    except (ShapeError, KeyError, ValueError, TypeError) as exc:
        raise GenerationError(f"{cfg.label()}: cannot be generated ({exc})") from None


def build_copies(cfg: OpConfig, copies: int) -> bytes:
    """``copies`` independent copies of the configuration's op in one model (each with its
    own inputs, weights and outputs): timed for 1, 2, 4, 8 copies, the slope is the op's cost
    inside a network and the intercept the runtime's per-run overhead."""
    if copies == 1:
        return build(cfg)
    net = Net(seed=int(cfg.key[:8], 16), name=f"{cfg.op} x{copies}")
    try:
        for _ in range(copies):
            spec(cfg.op).build(net, cfg.params)
        return net.build(description=f"leti-view: {copies} copies of {cfg.label()}")
    except (ShapeError, KeyError, ValueError, TypeError) as exc:
        raise GenerationError(f"{cfg.label()} x{copies}: cannot be generated ({exc})") from None


def affordable(cfg: OpConfig) -> bool:
    """Small enough to time repeatedly on a phone CPU and a 2-core host."""
    try:
        macs, elements = spec(cfg.op).size(cfg.params)
    except (GenerationError, ShapeError, KeyError, ZeroDivisionError):
        return False
    return 0 < elements <= MAX_ELEMENTS and macs <= MAX_MACS


def sample(op: str, rng: random.Random, source: str = "random") -> OpConfig:
    p = spec(op).sample(rng)
    return OpConfig(op, {k: v for k, v in p.items() if v is not None}, source)


def from_node(node: Node) -> OpConfig | None:
    """The configuration that regenerates ``node`` alone, or None when no generator can."""
    if node.role != "compute" or not node.inputs or not node.outputs:
        return None
    from ...features import op_kind

    kind = op_kind(node)
    found = SINGLES.get(kind)
    if found is None or found.from_node is None:
        return None
    try:
        p = found.from_node(node)
    except (KeyError, IndexError, ValueError, TypeError):
        return None
    if p is None:
        return None
    return OpConfig(kind, {k: v for k, v in p.items() if v is not None}, "from-model")


from . import conv, elementwise, layout, quantized  # noqa: E402,F401  (register the op kinds)
