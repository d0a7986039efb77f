"""Which operator configurations a build measures: grids, a real model's layers, random samples.

Suites bundle these sources: ``smoke`` (a quick check, for tests), ``default`` (what a new
device needs for the estimator) and ``full``; ``suite_times`` says how long each takes.
``micro`` is no suite: the few ops an uncalibrated device is priced from.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..errors import LetiError
from ..ops import ACTIVATION_OPS, BATCHED_OPS
from ..tflite import Node, read_model
from .opgen import SUPPORTED_OPS, OpConfig

SUITES = ("smoke", "default", "full")
# Keep single measurements affordable on a phone CPU and a 2-core host.
MAX_MACS = 400e6
MAX_ELEMENTS = 224 * 224 * 96

RESOLUTIONS = [4, 7, 8, 10, 12, 14, 16, 19, 20, 24, 28, 32, 38, 40, 48, 56, 64, 75, 80, 96, 112]
RESOLUTIONS += [128, 150, 160, 192, 224, 256]
RESOLUTIONS += [27, 55, 111]  # what valid-padded stride-2 layers leave (NASNet, Inception)


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
    small = dict(h=16, w=16, cin=16)
    per_op: dict[str, dict[str, Any]] = {
        "FULLY_CONNECTED": dict(cin=256, cout=128),
        "TRANSPOSE_CONV": dict(h=8, w=8, cin=16, cout=16, k=3, s=2),
        "ADD": small,
        "MUL": small,
        "CONCATENATION": dict(small, cin2=16),
        "AVERAGE_POOL_2D": dict(small, k=2, s=2),
        "MAX_POOL_2D": dict(small, k=2, s=2),
        "MEAN": small,
        "PAD": dict(small, pad=1),
        "RESIZE_BILINEAR": dict(h=8, w=8, cin=16, scale=2),
        "RESIZE_NEAREST_NEIGHBOR": dict(h=8, w=8, cin=16, scale=2),
        "SOFTMAX": dict(h=1, w=1, cin=1000),
        "RESHAPE": small,
    }
    for op, params in per_op.items():
        out.append(OpConfig(op, dict(params), "smoke"))
    out.append(OpConfig("FULLY_CONNECTED", dict(cin=1024, cout=256), "smoke"))
    out.append(OpConfig("ADD", dict(h=32, w=32, cin=32), "smoke"))
    for op in ACTIVATION_OPS:
        out.append(OpConfig(op, dict(small), "smoke"))
    return out


def _channels(rng: random.Random, lo: int = 8, hi: int = 1280) -> int:
    if lo <= 8 and rng.random() < 0.06:
        return rng.choice([1, 2, 3, 4])  # image inputs and thin heads
    c = int(round(2 ** rng.uniform(_log2(lo), _log2(hi))))
    return max(lo, (c + 4) // 8 * 8) if rng.random() < 0.8 else max(1, c)


def _log2(x: float) -> float:
    return math.log2(x)


def _act(rng: random.Random) -> str | None:
    return rng.choice([None, None, "relu", "relu6"])


def random_config(op: str, rng: random.Random) -> OpConfig:
    """One plausible mobile-network configuration of ``op``."""
    hw = rng.choice(RESOLUTIONS)
    cin = _channels(rng)
    p: dict[str, Any] = dict(h=hw, w=hw, cin=cin)
    if op in BATCHED_OPS and rng.random() < 0.06:  # a batch of small images (KNIFT: 200)
        hw = rng.choice([4, 8, 16, 32, 32, 64])
        p.update(n=rng.choice([2, 4, 8, 16, 32, 64, 128, 200]), h=hw, w=hw)
    if op == "CONV_2D":
        p.update(
            cout=_channels(rng),
            k=rng.choice([1, 1, 1, 3, 3, 3, 5, 7, 2]),
            s=rng.choice([1, 1, 1, 2]),
            act=_act(rng),
            padding=rng.choice(["same"] * 5 + ["valid"]),
        )
        if rng.random() < 0.06:  # 1x1 maps: squeeze-excite gates and 1x1-conv classifier heads
            p.pop("n", None)
            p.update(h=1, w=1, k=1, s=1, cin=_channels(rng, 8, 2048), padding="same")
            p["cout"] = rng.choice([1000, 1001]) if rng.random() < 0.3 else _channels(rng, 8, 2048)
    elif op == "DEPTHWISE_CONV_2D":
        p.update(k=rng.choice([1, 3, 3, 3, 5, 7]), s=rng.choice([1, 1, 2]), act=_act(rng))
        p["padding"] = rng.choice(["same"] * 4 + ["valid"])
        if rng.random() < 0.1:  # a depth multiplier widens thin inputs (KNIFT: 1 -> 16)
            p.update(cin=rng.choice([1, 2, 3, 4, 8, 16, 32]), m=rng.choice([2, 4, 8, 16]))
    elif op == "FULLY_CONNECTED":
        p = dict(cin=_channels(rng, 16, 4096), cout=_channels(rng, 2, 2048), act=_act(rng))
        if rng.random() < 0.35:  # classifier heads: megabytes of weights read once per call
            p.update(cin=rng.choice([256, 512, 576, 768, 960, 1024, 1056, 1280, 1536, 2048]))
            p.update(cout=rng.choice([1000, 1000, 1001, 10, 100, 128, 512, 1024]), act=None)
    elif op == "TRANSPOSE_CONV":
        # decoders upsample thin maps to full resolution: cover up to 256 -> 512, and the
        # 1-8 channel outputs of segmentation heads, which run far below the usual rate
        thin = rng.random() < 0.35
        cout = rng.choice([1, 1, 2, 3, 4, 8]) if thin else _channels(rng, 1, 256)
        p.update(cout=cout, k=rng.choice([2, 2, 3, 4]), s=2)
        if thin and rng.random() < 0.5:  # a segmentation head: thin in, thin out, large map
            p.update(cin=rng.choice([2, 4, 8, 8, 16, 32]), h=max(hw, 64), w=max(hw, 64))
    elif op in ("ADD", "SUB", "MUL"):
        p.update(act=rng.choice([None, None, "relu"]))
        r = rng.random()
        if r < 0.3:  # a constant (per channel or scalar), often on a thin image input
            p.update(act=None, cin=rng.choice([1, 3, 3, 4, cin, cin]))
            p.update(const=2 if p["cin"] == 1 else rng.choice([1, 2]))
        elif op == "MUL" and r < 0.6:
            p.update(bcast=1, act=None)
    elif op == "CONCATENATION":
        p.update(cin2=_channels(rng))
    elif op in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        if rng.random() < 0.2:  # global pooling written as a pool over the whole map
            p.update(h=min(hw, 128), w=min(hw, 128), k=min(hw, 128), s=min(hw, 128))
            p.update(padding="valid")
        else:
            k = rng.choice([1, 1, 2, 2, 3, 3, 5, 7])  # 1x1 stride 2: subsampling (NASNet)
            s = 2 if k == 1 else rng.choice([1, 2, k])
            p.update(k=k, s=s, padding=rng.choice(["same", "same", "valid"]))
    elif op == "PAD":
        p.update(pad=rng.choice([1, 1, 2, 3]))
    elif op in ("RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR"):
        p.update(h=min(hw, 112), w=min(hw, 112), scale=rng.choice([2, 2, 4]))
    elif op == "SOFTMAX":
        p = dict(h=1, w=1, cin=_channels(rng, 2, 4096)) if rng.random() < 0.5 else p
    return OpConfig(op, {k: v for k, v in p.items() if v is not None}, "random")


def affordable(cfg: OpConfig) -> bool:
    """Skip configurations too big to time repeatedly (or that leave no output)."""
    p = cfg.params
    if p.get("n", 1) > 1:
        p = dict(p, h=p["h"] * p["n"])  # costs grow with the batch like with the height
    h, w, cin = p.get("h", 1), p.get("w", 1), p.get("cin", 1)
    k, s = p.get("k", 1), p.get("s", 1)
    if p.get("padding") == "valid" and k > min(h, w):
        return False
    ho, wo = -(-h // s), -(-w // s)
    macs = 0.0
    if cfg.op == "CONV_2D":
        macs = ho * wo * p["cout"] * k * k * cin
        out = ho * wo * p["cout"]
    elif cfg.op == "DEPTHWISE_CONV_2D":
        macs = ho * wo * cin * p.get("m", 1) * k * k
        out = ho * wo * cin * p.get("m", 1)
    elif cfg.op == "FULLY_CONNECTED":
        macs, out = cin * p["cout"], p["cout"]
    elif cfg.op == "TRANSPOSE_CONV":
        macs = h * w * cin * k * k * p["cout"]
        out = h * s * w * s * p["cout"]
    else:
        scale = p.get("scale", 1)
        out = h * w * (cin + p.get("cin2", 0)) * scale * scale
    return macs <= MAX_MACS and out <= MAX_ELEMENTS and h * w * cin <= MAX_ELEMENTS


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
}


def sampled(counts: dict[str, int], seed: int, scale: float = 1.0) -> list[OpConfig]:
    rng = random.Random(seed)
    out: list[OpConfig] = []
    for op, n in counts.items():
        want, seen, tries = int(round(n * scale)), set(), 0
        while len(seen) < want and tries < want * 50:
            tries += 1
            cfg = random_config(op, rng)
            if affordable(cfg) and cfg.key not in seen:
                seen.add(cfg.key)
                out.append(cfg)
    return out


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
        return smoke() + sampled(DEFAULT_COUNTS, seed=20261122)
    if suite == "full":
        return (
            smoke()
            + sampled(DEFAULT_COUNTS, seed=20261122)
            + sampled(DEFAULT_COUNTS, seed=7, scale=2.0)
            + list(gsoc_grid())
            + list(wide_grid())
        )
    raise LetiError(f"unknown suite {suite!r}", f"choose one of {', '.join(SUITES)}")


# --- configurations found in a real model -----------------------------------------------------


def node_to_config(node: Node) -> OpConfig | None:
    """The generator configuration that reproduces ``node`` alone, or None if we cannot."""
    op = node.op
    if op not in SUPPORTED_OPS or node.role != "compute" or not node.inputs or not node.outputs:
        return None
    if any(t.dtype != "FLOAT32" for t in node.inputs + node.outputs if t.dtype != "INT32"):
        return None  # quantized or fp16 tensors: the float generator would measure another op
    x = node.inputs[0]
    if op == "TRANSPOSE_CONV" and len(node.inputs) > 2:
        x = node.inputs[2]
    o = node.options
    act = o.get("fused_activation_function", "NONE").lower()
    act = None if act == "none" else act
    if act not in (None, "relu", "relu6"):
        return None
    shape = x.shape
    if op == "FULLY_CONNECTED":
        w = node.inputs[1].shape if len(node.inputs) > 1 else []
        if len(w) != 2:
            return None
        return OpConfig(op, _clean(dict(cin=w[1], cout=w[0], act=act)), "from-model")
    if op == "SOFTMAX" and len(shape) == 2:
        return OpConfig(op, dict(h=1, w=1, cin=shape[1]), "from-model")
    if len(shape) != 4 or (shape[0] != 1 and op not in BATCHED_OPS):
        return None
    p: dict[str, Any] = dict(h=shape[1], w=shape[2], cin=shape[3])
    if shape[0] != 1:
        p["n"] = shape[0]
    if op in ("CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV"):
        p.update(k=o.get("kernel_h"), s=o.get("stride_h"), padding=o.get("padding", "SAME").lower())
        if o.get("kernel_h") != o.get("kernel_w") or o.get("stride_h") != o.get("stride_w"):
            return None
        if op != "DEPTHWISE_CONV_2D":
            p["cout"] = node.outputs[0].shape[-1]
        elif node.outputs[0].shape[-1] != shape[3]:
            p["m"] = node.outputs[0].shape[-1] // max(shape[3], 1)
        if o.get("dilation_h_factor", 1) != 1:
            p["d"] = o["dilation_h_factor"]
        if op != "TRANSPOSE_CONV":
            p["act"] = act
    elif op in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        if o.get("filter_height") != o.get("filter_width"):
            return None
        p.update(k=o["filter_height"], s=o["stride_h"], padding=o.get("padding", "SAME").lower())
    elif op in ("ADD", "SUB", "MUL"):
        shapes = [t.shape for t in node.inputs[:2]]
        second = node.inputs[1] if len(node.inputs) > 1 else None
        const = second is not None and second.is_constant and not act
        if const and second.numel == 1:
            p["const"] = 2
        elif const and shapes[1] in ([shape[3]], [1, 1, 1, shape[3]]):
            p["const"] = 1
        elif shapes == [shape, [1, 1, 1, shape[3]]] and not act:
            p["bcast"] = 1
        elif shapes != [shape, shape]:
            return None  # other broadcasting variants are not generated
        p["act"] = act
    elif op == "CONCATENATION":
        if len(node.inputs) != 2 or node.options.get("axis") not in (3, -1):
            return None
        p["cin2"] = node.inputs[1].shape[-1]
    elif op == "PAD":
        out = node.outputs[0].shape
        pad = (out[1] - shape[1]) // 2
        if out[1] - shape[1] != 2 * pad or out[2] - shape[2] != 2 * pad or out[3] != shape[3]:
            return None
        p["pad"] = pad
    elif op in ("RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR"):
        scale = node.outputs[0].shape[1] // max(shape[1], 1)
        if node.outputs[0].shape[1] != shape[1] * scale:
            return None
        p["scale"] = scale
    elif op == "MEAN" and len(node.outputs[0].shape) not in (2, 4):
        return None
    return OpConfig(op, _clean(p), "from-model")


def _clean(p: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in p.items() if v is not None}


def from_model(path: str | Path) -> tuple[list[OpConfig], list[Node]]:
    """Configurations of every op TensorFlow can regenerate, and the nodes it cannot (custom
    ops, channel padding, batched inputs, ...), which the build extracts from the model."""
    graph = read_model(path)
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
