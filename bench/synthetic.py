"""Generated models of a chosen operator count, for speed benchmarks (the project's own
builder; no download, no TensorFlow)."""

from __future__ import annotations

from pathlib import Path


def stacked(n_ops: int, path: Path, width: int = 16, res: int = 32, seed: int = 0) -> Path:
    """A chain of residual blocks (conv, depthwise, conv, add: four ops each) of ~n_ops ops."""
    if path.exists():
        return path
    from leti.estimator.generate.layers import Net

    net = Net(seed=seed)
    x = net.input([1, res, res, width])
    for _ in range(max(1, n_ops // 4)):
        y = net.conv(x, width, 1, act="relu")
        y = net.depthwise(y, 3, act="relu6")
        x = net.binary("ADD", x, net.conv(y, width, 1))
    net.output(x)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(net.build())
    return path
