"""Generated multi-layer networks, measured end to end so the estimator can learn what summing
single ops misses (per-invocation overhead, cache effects between layers, fusion).

A network is its spec (family, input resolution, width, depth, seed, ...); the builder makes
the same bytes from the same spec, on any machine, without TensorFlow.
"""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

from . import families_more  # noqa: F401  (registers the newer families in FAMILY)
from .config import GenerationError
from .families import FAMILY
from .layers import Net

# Bumped whenever the builder would make other bytes from the same spec.
GENERATOR_VERSION = 2

FAMILIES = ("plain", "mobilenet", "se_mobile", "resnet", "unet", "segment", "inception",
            "nasnet", "densenet", "transformer", "convnext", "mobilenet_int8",
            "resnet_int8")  # fmt: skip
# Drawn apart from the round-robin: ResNet50-like networks whose compute-bound layers carry
# 5-64 MB of weights, so the weight-spill term is fitted on more than one or two networks.
HEAVY = "bottleneck"
CLASSIFIERS = ("plain", "mobilenet", "se_mobile", "resnet", "inception", "nasnet", "densenet",
               "transformer", "convnext", "mobilenet_int8", "resnet_int8")  # fmt: skip


def spec_key(spec: dict[str, Any]) -> str:
    text = json.dumps({**spec, "generator": GENERATOR_VERSION}, sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _choices(family: str) -> tuple[list[int], list[int], list[int]]:
    """Resolutions, widths and depths a family is drawn from."""
    res, width, depth = [64, 96, 128, 160, 192, 224], [8, 16, 24, 32, 48, 64, 96], [2, 3, 4, 5, 6]
    if family == "unet":
        res = [64, 96, 128]
    elif family == "segment":
        res, width, depth = [128, 160, 192, 256], [4, 8, 8, 12, 16, 24], [2, 3, 4, 5, 6, 7]
    elif family in ("transformer", "convnext"):
        res, width, depth = [64, 96, 128, 160], [32, 48, 64, 96, 128], [1, 2, 3, 4]
    elif family in ("inception", "nasnet", "densenet"):
        res, width = [64, 96, 128, 160], [16, 24, 32, 48]
    return res, width, depth


def sample_specs(count: int, seed: int, families: tuple[str, ...] = FAMILIES) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        family = families[i % len(families)]
        res, width, depth = _choices(family)
        spec: dict[str, Any] = dict(family=family, res=rng.choice(res), width=rng.choice(width),
                                    depth=rng.choice(depth), seed=seed * 10000 + i)  # fmt: skip
        if family in CLASSIFIERS:
            # classifiers end in megabytes of dense weights (1280 x 1000 in MobileNetV2)
            spec["head"] = rng.choice([10, 100, 1000, 1000])
        if family == "transformer":
            spec["patch"] = rng.choice([4, 8, 16])
        out.append(spec)
    return out


def heavy_specs(count: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    grid = [(r, w) for r in (96, 128, 160, 192, 224) for w in (16, 32, 48, 64)]
    return [dict(family=HEAVY, res=r, width=w, depth=4, seed=seed * 10000 + i, head=1000)
            for i, (r, w) in enumerate(rng.sample(grid, count))]  # fmt: skip


def suite_specs(suite: str) -> list[dict[str, Any]]:
    if suite == "smoke":
        return [
            dict(family="plain", res=32, width=16, depth=3, seed=1),
            dict(family="mobilenet", res=48, width=8, depth=3, seed=2),
            dict(family="resnet", res=32, width=16, depth=2, seed=3),
        ]
    if suite == "default":
        return sample_specs(260, 1122) + heavy_specs(12, 1123)
    return sample_specs(520, 2211) + heavy_specs(20, 2212)


def build(spec: dict[str, Any]) -> bytes:
    """The network's .tflite bytes (the same for the same spec)."""
    family = FAMILY.get(spec.get("family", ""))
    if family is None:
        raise GenerationError(f"unknown network family {spec.get('family')!r}")
    net = Net(seed=spec.get("seed", 0), name=f"{spec['family']}")
    x = net.input([1, spec["res"], spec["res"], 3])
    net.output(family(net, x, spec, random.Random(spec.get("seed", 0))))
    return net.build(description=f"leti-view network {json.dumps(spec, sort_keys=True)}")
