"""A MobileNetV2-like search space of the kind a neural-architecture search explores: each
candidate picks, block by block, a kernel size, an expansion ratio and a width, and the
project's builder writes it as a .tflite model in memory (no TensorFlow)."""

from __future__ import annotations

import numpy as np

KERNELS = (3, 5, 7)
EXPANSIONS = (1, 3, 6)
WIDTHS = (16, 24, 32, 40, 48, 64)


def candidate(seed: int, blocks: int = 86, res: int = 64) -> bytes:
    """One random candidate of ``blocks`` inverted-residual blocks (about 4 ops each)."""
    from leti.estimator.generate.layers import Net

    rng = np.random.default_rng(seed)
    net = Net(seed=seed)
    x = net.input([1, res, res, 3])
    c = int(rng.choice(WIDTHS))
    x = net.conv(x, c, 3, s=2, act="relu6")
    for b in range(blocks):
        k, e, w = int(rng.choice(KERNELS)), int(rng.choice(EXPANSIONS)), int(rng.choice(WIDTHS))
        stride = 2 if b in (blocks // 4, blocks // 2) else 1
        y = net.conv(x, c * e, 1, act="relu6") if e > 1 else x
        y = net.depthwise(y, k, s=stride, act="relu6")
        y = net.conv(y, w, 1)
        x = net.binary("ADD", x, y) if stride == 1 and w == c else y
        c = w
    net.output(net.mean(x, axes=[1, 2]))
    return net.build()
