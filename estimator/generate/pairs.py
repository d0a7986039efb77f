"""Producer -> consumer pairs, to find which ops a runtime fuses into their producer (the
nn-Meter way: time A, B and A->B; when A->B costs what A costs, B is fused). A GPU delegate
folds element-wise ops into the kernel before them, so what it runs are kernels, not ops.

Middle probes time an element-wise op inside a chain (1x1 conv -> B -> 1x1 conv against the
two convolutions chained and B alone): a single op is always timed with its input and output
the model's own, and XNNPACK runs some ops otherwise when both are tensors it keeps to itself
(bench/chain_context.py: PReLU, or ADD/MUL with a per-channel constant, on 8 channels costs
about 3x its time alone there, on 16 what it costs alone). The probes run at channel counts of
every SIMD tile class (``features.tile_class``), since that is what decides it."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from .config import GenerationError
from .layers import Net

# What comes first (a kernel that can take a fused tail) ...
PRODUCERS: dict[str, Callable[[Net, int], int]] = {
    "CONV_2D": lambda net, x: net.conv(x, net.channels(x), 1),
    "DEPTHWISE_CONV_2D": lambda net, x: net.depthwise(x, 3),
    "ADD": lambda net, x: net.binary("ADD", x, net.input(net.shapes[x])),
}
# ... and what may be folded into it.
CONSUMERS: dict[str, Callable[[Net, int], int]] = {
    "RELU": lambda net, y: net.unary("RELU", y),
    "RELU6": lambda net, y: net.unary("RELU6", y),
    "LOGISTIC": lambda net, y: net.unary("LOGISTIC", y),
    "TANH": lambda net, y: net.unary("TANH", y),
    "HARD_SWISH": lambda net, y: net.unary("HARD_SWISH", y),
    "PRELU": lambda net, y: net.prelu(y),
    "GELU": lambda net, y: net.gelu(y),
    "ADD": lambda net, y: net.binary_const("ADD", y),
    "MUL": lambda net, y: net.binary_const("MUL", y),
}


@dataclass(frozen=True)
class _Probe:
    """A consumer on an h x w x c map; its key is its fields (and its kind's tag) hashed,
    behind its kind's prefix."""

    PREFIX: ClassVar[str] = "f"
    TAG: ClassVar[dict[str, object]] = {}

    consumer: str
    h: int
    w: int
    c: int

    @property
    def key(self) -> str:
        text = json.dumps({**self.TAG, **self.__dict__}, sort_keys=True)
        return self.PREFIX + hashlib.sha1(text.encode()).hexdigest()[:15]


@dataclass(frozen=True)
class Pair(_Probe):
    producer: str

    @property
    def op(self) -> str:
        return f"FUSION:{self.producer}>{self.consumer}"

    def label(self) -> str:
        return f"{self.producer} -> {self.consumer} at {self.h}x{self.w}x{self.c}"

    def build(self, part: str, copies: int = 1) -> bytes:
        """``part`` "a" (the producer alone), "b" (the consumer alone) or "ab" (both)."""

        def chain(net: Net, x: int) -> int:
            if "a" in part:
                x = PRODUCERS[self.producer](net, x)
            return CONSUMERS[self.consumer](net, x) if "b" in part else x

        return _probe(self, f"fusion probe {part}", copies, chain)


def _probe(probe: _Probe, what: str, copies: int, chain: Callable[[Net, int], int]) -> bytes:
    """``copies`` independent copies of what ``chain`` makes of a probe's input, in one model
    seeded by the probe's key."""
    net = Net(seed=int(probe.key[1:9], 16))
    try:
        for _ in range(copies):
            net.output(chain(net, net.input([1, probe.h, probe.w, probe.c])))
        return net.build(description=f"leti-view {what}: {probe.label()}")
    except (KeyError, ValueError) as exc:
        raise GenerationError(f"{probe.label()}: cannot be generated ({exc})") from None


# Channel counts of the middle probes: two of each tile class (a multiple of 16, of 8 only,
# neither), on one 64x64 map.
MIDDLE_CHANNELS = (4, 12, 8, 24, 16, 32)
MIDDLE_HW = 64


@dataclass(frozen=True)
class Middle(_Probe):
    """Consumer B in the middle of a chain: part "a" is the chain without it (1x1 conv ->
    1x1 conv), "b" B alone, "ab" the chain with it, so that (ab - a) / b is the share of its
    own cost B pays there (measured as a fusion probe is: ``services.context.fusion_probe``)."""

    PREFIX = "m"
    TAG = {"middle": True}

    @property
    def op(self) -> str:
        return f"MIDDLE:{self.consumer}"

    def label(self) -> str:
        return f"{self.consumer} between two 1x1 convolutions at {self.h}x{self.w}x{self.c}"

    def build(self, part: str, copies: int = 1) -> bytes:
        conv, consumer = PRODUCERS["CONV_2D"], CONSUMERS[self.consumer]

        def chain(net: Net, x: int) -> int:
            if part == "b":
                return consumer(net, x)
            x = conv(net, x)
            return conv(net, consumer(net, x) if "b" in part else x)

        return _probe(self, f"middle probe {part}", copies, chain)


def middle_probes() -> list[Middle]:
    """Every consumer at every channel count of :data:`MIDDLE_CHANNELS`."""
    return [Middle(b, MIDDLE_HW, MIDDLE_HW, c) for b in CONSUMERS for c in MIDDLE_CHANNELS]


def sample_pairs(count: int, seed: int) -> list[Pair]:
    """Every producer/consumer combination at least once, at a few feature-map sizes."""
    rng = random.Random(seed)
    combos = [(a, b) for a in PRODUCERS for b in CONSUMERS]
    out = []
    for i in range(count):
        a, b = combos[i % len(combos)]
        hw = rng.choice([14, 28, 56, 112])
        out.append(Pair(consumer=b, h=hw, w=hw, c=rng.choice([16, 32, 64, 128]), producer=a))
    return out
