"""Which operator configurations a build measures: grids, a real model's layers, random samples.

Suites bundle these sources: ``smoke`` (a quick check, for tests), ``default`` (what a new
device needs for the estimator) and ``full``; ``suite_times`` says how long each takes.
``micro`` is no suite: the few ops an uncalibrated device is priced from.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from ..errors import LetiError
from ..graph import ModelGraph, Node, read_model
from ..ops import ACTIVATION_OPS
from . import singles
from .config import OpConfig
from .singles import affordable

SUITES = ("smoke", "default", "full", "zoo")
# The zoo suite profiles the shipped zoo models kernel by kernel on a phone's GPU (adb).
KERNEL_SUITES = ("zoo",)


def gsoc_grid() -> Iterator[OpConfig]:
    """The GSoC project's convolution grid (kernel, filters, H=W, Cin, stride)."""
    for k, cout, hw, cin, s in itertools.product(
        (1, 2, 3, 5), (16, 32, 64, 128, 256), (8, 16, 32, 64), (16, 32, 48), (1, 2, 3)
    ):
        yield OpConfig("CONV_2D", dict(h=hw, w=hw, cin=cin, cout=cout, k=k, s=s), "gsoc-grid")


def wide_grid() -> Iterator[OpConfig]:
    """Real mobile sizes: resolutions up to 224 and channels up to 1280."""
    for hw, cin, cout, k, s in itertools.product(
        (7, 14, 28, 56, 112, 224), (16, 64, 256, 1280), (16, 64, 256, 1280), (1, 3), (1, 2)
    ):
        cfg = OpConfig("CONV_2D", dict(h=hw, w=hw, cin=cin, cout=cout, k=k, s=s), "wide-grid")
        if affordable(cfg):
            yield cfg
    for hw, c, k, s in itertools.product(
        (7, 14, 28, 56, 112, 224), (16, 64, 256, 1280), (3, 5), (1, 2)
    ):
        cfg = OpConfig("DEPTHWISE_CONV_2D", dict(h=hw, w=hw, cin=c, k=k, s=s), "wide-grid")
        if affordable(cfg):
            yield cfg


def smoke() -> list[OpConfig]:
    """A quick build that still covers every generator and the conv trend."""
    out = []
    for hw, cin, cout, k in [
        (8, 8, 8, 1),
        (16, 16, 16, 3),
        (16, 16, 32, 3),
        (32, 16, 32, 3),
        (32, 32, 64, 3),
        (16, 32, 32, 1),
        (32, 8, 16, 5),
        (64, 16, 16, 3),
    ]:
        out.append(OpConfig("CONV_2D", dict(h=hw, w=hw, cin=cin, cout=cout, k=k, s=1), "smoke"))
    out.append(
        OpConfig("CONV_2D", dict(h=32, w=32, cin=16, cout=32, k=3, s=2, act="relu"), "smoke")
    )
    for hw, c, s in [(16, 16, 1), (32, 32, 1), (32, 16, 2), (64, 16, 1)]:
        out.append(OpConfig("DEPTHWISE_CONV_2D", dict(h=hw, w=hw, cin=c, k=3, s=s), "smoke"))
    out.append(OpConfig("FULLY_CONNECTED", dict(cin=1024, cout=256), "smoke"))
    out.append(OpConfig("ADD", dict(h=32, w=32, cin=32), "smoke"))
    out += [OpConfig(op, dict(params), "smoke") for op, params in SMALL.items()]
    return out


_MAP = dict(h=16, w=16, cin=16)
_TOKENS = dict(t=64, cin=64)
# One small configuration of every op kind a generator exists for.
SMALL: dict[str, dict[str, Any]] = {
    "FULLY_CONNECTED": dict(cin=256, cout=128),
    "CONV_2D:GROUPED": dict(h=16, w=16, cin=32, cout=32, groups=32, k=7, s=1),
    "TRANSPOSE_CONV": dict(h=8, w=8, cin=16, cout=16, k=3, s=2),
    "BATCH_MATMUL": dict(b=2, m=64, k=32, n=64, adj_y=1),
    "ADD": _MAP,
    "SUB": dict(_MAP, const=1),
    "MUL": dict(_MAP, bcast=1),
    "SQUARED_DIFFERENCE": dict(_TOKENS, mean=1),
    "CONCATENATION": dict(_MAP, cin2=16),
    "AVERAGE_POOL_2D": dict(_MAP, k=2, s=2),
    "MAX_POOL_2D": dict(_MAP, k=2, s=2),
    "MEAN": _MAP,
    "PAD": dict(_MAP, pad=1),
    "RESIZE_BILINEAR": dict(h=8, w=8, cin=16, scale=2),
    "RESIZE_NEAREST_NEIGHBOR": dict(h=8, w=8, cin=16, scale=2),
    "SOFTMAX": dict(cin=1000),
    "RESHAPE": _MAP,
    "TRANSPOSE": dict(t=64, heads=4, cin=16),
    "GATHER": dict(_MAP, take=8),
    "SLICE": dict(_MAP, crop=1),
    "STRIDED_SLICE": dict(_MAP, crop=1),
    "SPLIT": dict(_MAP, parts=2),
    "DEPTH_TO_SPACE": dict(_MAP, block=2),
    "SPACE_TO_DEPTH": dict(_MAP, block=2),
    "L2_NORMALIZATION": dict(n=8, cin=64),
    "GELU": _TOKENS,
    "RSQRT": _TOKENS,
    "EXP": _MAP,
    "NEG": _MAP,
    "SQRT": _MAP,
    **{op: _MAP for op in ACTIVATION_OPS},
    "CONV_2D:INT8": dict(_MAP, cout=16, k=3, s=1),
    "DEPTHWISE_CONV_2D:INT8": dict(_MAP, k=3, s=1),
    "FULLY_CONNECTED:INT8": dict(cin=256, cout=128),
    "ADD:INT8": _MAP,
    "QUANTIZE": _MAP,
    "DEQUANTIZE": _MAP,
}


# How many random samples of each op type the default suite takes (convolutions dominate
# real models' time, so they get the most).
DEFAULT_COUNTS = {
    "CONV_2D": 440,
    "DEPTHWISE_CONV_2D": 280,
    "FULLY_CONNECTED": 70,
    "TRANSPOSE_CONV": 130,
    "ADD": 40,
    "SUB": 25,
    "MUL": 45,
    "CONCATENATION": 25,
    "AVERAGE_POOL_2D": 40,
    "MAX_POOL_2D": 40,
    "MEAN": 20,
    "PAD": 20,
    "RESIZE_BILINEAR": 20,
    "RESIZE_NEAREST_NEIGHBOR": 15,
    "SOFTMAX": 15,
    "RESHAPE": 15,
    "RELU": 12,
    "RELU6": 12,
    "PRELU": 25,
    "LOGISTIC": 15,
    "TANH": 10,
    "HARD_SWISH": 15,
    "BATCH_MATMUL": 40,
    "SQUARED_DIFFERENCE": 15,
    "GELU": 20,
    "RSQRT": 10,
    "EXP": 8,
    "NEG": 8,
    "SQRT": 8,
    "TRANSPOSE": 20,
    "GATHER": 12,
    "SLICE": 10,
    "STRIDED_SLICE": 12,
    "SPLIT": 12,
    "DEPTH_TO_SPACE": 10,
    "SPACE_TO_DEPTH": 10,
    "L2_NORMALIZATION": 12,
    "CONV_2D:INT8": 80,
    "DEPTHWISE_CONV_2D:INT8": 50,
    "FULLY_CONNECTED:INT8": 25,
    "ADD:INT8": 15,
    "QUANTIZE": 10,
    "DEQUANTIZE": 10,
    # new kinds go last: the samples of the kinds above stay what they were (one seeded
    # stream), so a database built before measures only the new ones
    "CONV_2D:GROUPED": 100,
}


def sampled(
    counts: dict[str, int],
    seed: int,
    scale: float = 1.0,
    then: Callable[[OpConfig, random.Random], OpConfig | None] | None = None,
) -> list[OpConfig]:
    """``counts`` distinct affordable random configurations of each op kind (times ``scale``),
    each passed through ``then`` when given (None: drawn again), from one seeded stream."""
    rng = random.Random(seed)
    out: list[OpConfig] = []
    for op, n in counts.items():
        want, seen, tries = int(round(n * scale)), set(), 0
        while len(seen) < want and tries < want * 50:
            tries += 1
            cfg: OpConfig | None = singles.sample(op, rng)
            if then is not None:
                cfg = then(cfg, rng)
            if cfg is not None and affordable(cfg) and cfg.key not in seen:
                seen.add(cfg.key)
                out.append(cfg)
    return out


# Thin feature maps (1-7 channels) at large resolutions: image inputs, segmentation heads and
# decoders, the narrow stages of mobile face and hand models. The samplers above give them a
# few percent of their draws, yet SIMD kernels vectorise over channels, so a thin map costs per
# pixel, not per element: PReLU on 128x128x4 took 82 µs here, more than on 160x160x8 (72 µs),
# and a 1x1 convolution 4 -> 32 channels at 128x128 twice what the regressor said without such
# samples. A separate seeded stream, last in the suite, so that a database built before
# measures only these.
THIN_COUNTS = {
    "CONV_2D": 40,
    "DEPTHWISE_CONV_2D": 16,
    "TRANSPOSE_CONV": 8,
    "PRELU": 12,
    "ADD": 10,
    "MUL": 8,
    "RELU": 4,
    "RELU6": 4,
    "LOGISTIC": 4,
    "HARD_SWISH": 4,
    "MAX_POOL_2D": 8,
    "AVERAGE_POOL_2D": 6,
    "CONCATENATION": 8,
    "PAD": 6,
    "RESIZE_BILINEAR": 6,
}
THIN_RESOLUTIONS = (32, 48, 64, 96, 112, 128, 160, 192, 224, 256)


def thin(cfg: OpConfig, rng: random.Random) -> OpConfig | None:
    """``cfg`` on a thin feature map at a large resolution (a convolution: thin on its input,
    its output or both); None for shapes without channels to thin (token rows, vectors)."""
    p = dict(cfg.params)
    if "t" in p or p.get("h", 1) <= 1 or "cin" not in p:
        return None
    p["h"] = p["w"] = rng.choice(THIN_RESOLUTIONS)
    side = rng.choice(("in", "in", "out", "both")) if "cout" in p else "in"
    if side in ("in", "both"):
        p["cin"] = rng.randint(1, 7)
    if side in ("out", "both"):
        p["cout"] = rng.randint(1, 7)
    if "cin2" in p:
        p["cin2"] = rng.randint(1, 7)
    return OpConfig(cfg.op, p, "thin")


def thin_sampled(counts: dict[str, int], seed: int) -> list[OpConfig]:
    """The thin part of a suite: ``counts`` draws of each op kind moved onto thin maps."""
    return sampled(counts, seed, then=thin)


def micro() -> list[OpConfig]:
    """A few seconds of ops spanning compute- and memory-bound, for an uncalibrated device."""
    out = [
        OpConfig("CONV_2D", dict(h=h, w=h, cin=c, cout=c, k=3, s=1), "micro")
        for h, c in [(16, 16), (32, 32), (56, 64)]
    ]
    out.append(OpConfig("CONV_2D", dict(h=28, w=28, cin=128, cout=128, k=1, s=1), "micro"))
    out.append(OpConfig("DEPTHWISE_CONV_2D", dict(h=56, w=56, cin=64, k=3, s=1), "micro"))
    out.append(OpConfig("FULLY_CONNECTED", dict(cin=1024, cout=1024), "micro"))
    for h in (16, 64):
        out.append(OpConfig("ADD", dict(h=h, w=h, cin=32), "micro"))
    out.append(OpConfig("MAX_POOL_2D", dict(h=56, w=56, cin=32, k=2, s=2), "micro"))
    return out


def adaptive(report: dict[str, Any], budget: int, seed: int) -> list[OpConfig]:
    """``budget`` new random configurations, shared out by each op type's held-out error.

    An op type gets samples in proportion to MAPE x sqrt(samples so far) (the error it
    contributes); op types without a report count as the worst one.
    """
    errs = {}
    for r in report.get("op_types", []):
        mape = r["metrics"]["mape"]
        known = mape is not None and math.isfinite(mape)
        errs[r["op"]] = (mape if known else 50.0) * r["samples"] ** 0.5
    for op in DEFAULT_COUNTS:
        errs.setdefault(op, max(errs.values(), default=1.0))
    total = sum(errs.values()) or 1.0
    shares = {op: budget * e / total for op, e in errs.items() if op in DEFAULT_COUNTS}
    counts = {op: int(v) for op, v in shares.items()}
    # largest remainders take what flooring left over, so the counts add up to the budget
    for op in sorted(shares, key=lambda o: shares[o] - counts[o], reverse=True):
        if sum(counts.values()) >= budget:
            break
        counts[op] += 1
    return [OpConfig(c.op, c.params, "adaptive") for c in sampled(counts, seed=seed)]


GRIDS = ("gsoc", "wide")


def grid_configs(grid: str) -> list[OpConfig]:
    if grid == "gsoc":
        return list(gsoc_grid())
    if grid == "wide":
        return list(wide_grid())
    raise LetiError(f"unknown grid {grid!r}", f"choose one of {', '.join(GRIDS)}")


def suite_configs(suite: str) -> list[OpConfig]:
    if suite == "smoke":
        return smoke()
    if suite == "default":
        return (
            smoke() + sampled(DEFAULT_COUNTS, seed=20261122) + thin_sampled(THIN_COUNTS, 20261207)
        )
    if suite in KERNEL_SUITES:
        return []
    if suite == "full":
        return (
            smoke()
            + sampled(DEFAULT_COUNTS, seed=20261122)
            + thin_sampled(THIN_COUNTS, 20261207)
            + sampled(DEFAULT_COUNTS, seed=7, scale=2.0)
            + list(gsoc_grid())
            + list(wide_grid())
        )
    raise LetiError(f"unknown suite {suite!r}", f"choose one of {', '.join(SUITES)}")


# --- configurations found in a real model -----------------------------------------------------


def node_to_config(node: Node) -> OpConfig | None:
    """The generator configuration that reproduces ``node`` alone, or None if none can."""
    return singles.from_node(node)


def from_model(model: str | Path | bytes | ModelGraph) -> tuple[list[OpConfig], list[Node]]:
    """Configurations of every op the generators can regenerate, and the nodes they cannot
    (custom ops, channel padding, quantized layers, ...), which the build cuts out of the
    model and measures as they are. ``model``: a file, its bytes, or the graph already parsed
    (a planner that also cuts ops out parses it once, for both)."""
    graph = model if isinstance(model, ModelGraph) else read_model(model)
    configs: dict[str, OpConfig] = {}
    skipped = []
    for node in graph.nodes:
        cfg = node_to_config(node)
        if cfg is None:
            if node.role in ("compute", "custom"):
                skipped.append(node)
            continue
        configs.setdefault(cfg.key, cfg)
    return list(configs.values()), skipped


def dedupe(configs: Iterable[OpConfig]) -> list[OpConfig]:
    seen: dict[str, OpConfig] = {}
    for c in configs:
        seen.setdefault(c.key, c)
    return list(seen.values())
