"""A single-operator configuration, and the sampling helpers every op type's sampler shares."""

from __future__ import annotations

import hashlib
import json
import math
import random
from dataclasses import dataclass, field
from typing import Any

from ..errors import LetiError

# Keep single measurements affordable on a phone CPU and a 2-core host.
MAX_MACS = 400e6
MAX_ELEMENTS = 224 * 224 * 96

RESOLUTIONS = [4, 7, 8, 10, 12, 14, 16, 19, 20, 24, 28, 32, 38, 40, 48, 56, 64, 75, 80, 96, 112]
RESOLUTIONS += [128, 150, 160, 192, 224, 256]
RESOLUTIONS += [27, 55, 111]  # what valid-padded stride-2 layers leave (NASNet, Inception)
# Token counts of mobile transformers (ViT/MobileViT patches, ConvNeXt-style token MLPs).
TOKENS = [16, 49, 64, 96, 144, 196, 256, 576, 784, 1024]


class GenerationError(LetiError):
    """The generator could not make the intended model (an impossible configuration)."""


@dataclass(frozen=True)
class OpConfig:
    """One operator configuration: its op kind and the parameters its generator takes.

    ``op`` is the op kind measurements are stored under: the TFLite op type, with ``:INT8``
    for the int8-quantized variant (which runs different kernels)."""

    op: str
    params: dict[str, Any] = field(hash=False)
    source: str = field(default="grid", compare=False)

    @property
    def key(self) -> str:
        canonical = json.dumps({"op": self.op, **self.params}, sort_keys=True)
        return hashlib.sha1(canonical.encode()).hexdigest()[:16]

    def label(self) -> str:
        inner = ",".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        return f"{self.op}({inner})"


def channels(rng: random.Random, lo: int = 8, hi: int = 1280) -> int:
    if lo <= 8 and rng.random() < 0.06:
        return rng.choice([1, 2, 3, 4])  # image inputs and thin heads
    c = int(round(2 ** rng.uniform(math.log2(lo), math.log2(hi))))
    return max(lo, (c + 4) // 8 * 8) if rng.random() < 0.8 else max(1, c)


def activation(rng: random.Random) -> str | None:
    return rng.choice([None, None, "relu", "relu6"])


def image(rng: random.Random, batched: bool = False) -> dict[str, Any]:
    """A feature map [n, h, w, c] of a mobile network (a small batch now and then)."""
    hw = rng.choice(RESOLUTIONS)
    p: dict[str, Any] = dict(h=hw, w=hw, cin=channels(rng))
    if batched and rng.random() < 0.06:  # a batch of small images (KNIFT: 200)
        hw = rng.choice([4, 8, 16, 32, 32, 64])
        p.update(n=rng.choice([2, 4, 8, 16, 32, 64, 128, 200]), h=hw, w=hw)
    return p


def tokens(rng: random.Random) -> dict[str, Any]:
    """Token rows [1, t, c] of a mobile transformer block."""
    return dict(t=rng.choice(TOKENS), cin=rng.choice([32, 48, 64, 96, 128, 192, 256, 384, 512]))


def in_shape(p: dict[str, Any]) -> list[int]:
    """The main input's shape a configuration describes."""
    if "t" in p:
        return [1, p["t"], p["cin"]]
    if p.get("h") is None:
        return [p.get("n", 1), p["cin"]]
    return [p.get("n", 1), p["h"], p["w"], p["cin"]]
