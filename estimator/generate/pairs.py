"""Producer -> consumer pairs, to find which ops a runtime fuses into their producer (the
nn-Meter way: time A, B and A->B; when A->B costs what A costs, B is fused). A GPU delegate
folds element-wise ops into the kernel before them, so what it runs are kernels, not ops."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass

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
class Pair:
    producer: str
    consumer: str
    h: int
    w: int
    c: int

    @property
    def key(self) -> str:
        text = json.dumps(self.__dict__, sort_keys=True)
        return "f" + hashlib.sha1(text.encode()).hexdigest()[:15]

    @property
    def op(self) -> str:
        return f"FUSION:{self.producer}>{self.consumer}"

    def label(self) -> str:
        return f"{self.producer} -> {self.consumer} at {self.h}x{self.w}x{self.c}"

    def build(self, part: str, copies: int = 1) -> bytes:
        """``part`` "a" (the producer alone), "b" (the consumer alone) or "ab" (both)."""
        net = Net(seed=int(self.key[1:9], 16))
        try:
            for _ in range(copies):
                x = net.input([1, self.h, self.w, self.c])
                if "a" in part:
                    x = PRODUCERS[self.producer](net, x)
                if "b" in part:
                    x = CONSUMERS[self.consumer](net, x)
                net.output(x)
            return net.build(description=f"leti-view fusion probe {part}: {self.label()}")
        except (KeyError, ValueError) as exc:
            raise GenerationError(f"{self.label()}: cannot be generated ({exc})") from None


def sample_pairs(count: int, seed: int) -> list[Pair]:
    """Every producer/consumer combination at least once, at a few feature-map sizes."""
    rng = random.Random(seed)
    combos = [(a, b) for a in PRODUCERS for b in CONSUMERS]
    out = []
    for i in range(count):
        a, b = combos[i % len(combos)]
        hw = rng.choice([14, 28, 56, 112])
        out.append(Pair(a, b, hw, hw, rng.choice([16, 32, 64, 128])))
    return out
