"""Does an op cost, in the middle of a chain, what it costs alone? (XNNPACK on the host.)

A single op is timed alone: its input is the model's input and its output the model's
output. Inside a network most ops read and write tensors the runtime keeps to itself, which
XNNPACK may place differently (in place, for an element-wise op whose input nobody else
reads). For each element-wise op X and channel count, this times the chain
1x1 conv -> X -> 1x1 conv against its three ops alone, and X's excess in the chain as a
multiple of X's own time alone; then PReLU at 8 channels first, last and in the middle of
short chains. Each model is timed in interleaved rounds and keeps its fastest round's median.

    python3 bench/chain_context.py [--hw 64] [--rounds 3] [--name chain_context]

A finding, not training data: the generated networks and the corpus rarely have such layers,
so the composition cannot learn their cost; the build's middle probes (generate.pairs.Middle)
measure it on every device, and training keeps it as a runtime fact (docs/guide.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import md_table, save  # noqa: E402

OPS = ("PRELU", "LOGISTIC", "HARD_SWISH", "TANH", "ADD", "MUL")
CHANNELS = (4, 8, 12, 16, 24, 32)
POSITIONS = (
    ("PRELU", "CONV"),
    ("CONV", "PRELU"),
    ("CONV", "PRELU", "CONV"),
    ("CONV", "PRELU", "PRELU"),
    ("DEPTHWISE", "PRELU", "DEPTHWISE"),
)


def model(ops: tuple[str, ...], hw: int, c: int) -> bytes:
    from leti.estimator.generate.layers import Net

    net = Net(seed=1)
    x = net.input([1, hw, hw, c])
    for op in ops:
        if op == "CONV":
            x = net.conv(x, c, 1)
        elif op == "DEPTHWISE":
            x = net.depthwise(x, 1)
        elif op == "PRELU":
            x = net.prelu(x)
        elif op in ("ADD", "MUL"):
            x = net.binary_const(op, x)
        else:
            x = net.unary(op, x)
    net.output(x)
    return net.build(description="leti-view chain context: " + " -> ".join(ops))


def timed(models: dict[tuple, bytes], rounds: int) -> dict[tuple, float]:
    """Each model's fastest round median (ms), the models interleaved round by round."""
    from leti.estimator.devices.host import HostDevice

    device = HostDevice(threads=1)
    best = {k: float("inf") for k in models}
    for _ in range(rounds):
        for k, data in models.items():
            best[k] = min(best[k], device.measure(data, runs=60).median_ms)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hw", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--name", default="chain_context")
    a = ap.parse_args()
    models: dict[tuple, bytes] = {}
    for c in CHANNELS:
        models[("CONV",), c] = model(("CONV",), a.hw, c)
        for op in OPS:
            models[(op,), c] = model((op,), a.hw, c)
            models[("CONV", op, "CONV"), c] = model(("CONV", op, "CONV"), a.hw, c)
    for seq in POSITIONS:
        for op in seq:
            models.setdefault(((op,), 8), model((op,), a.hw, 8))
        models[seq, 8] = model(seq, a.hw, 8)
    t = timed(models, a.rounds)

    def parts(seq: tuple[str, ...], c: int) -> float:
        return sum(t[(op,), c] for op in seq)

    rows, grid = [], {}
    for op in OPS:
        row: list = [op]
        for c in CHANNELS:
            chain = t[("CONV", op, "CONV"), c]
            excess = (chain - parts(("CONV", op, "CONV"), c)) / t[(op,), c]
            grid[f"{op}@{c}"] = {"chain_ms": chain, "parts_ms": parts(("CONV", op, "CONV"), c),
                                 "excess_in_op_times": excess}  # fmt: skip
            row.append(f"{chain / parts(('CONV', op, 'CONV'), c):.2f} ({excess:+.1f})")
        rows.append(row)
    pos_rows, positions = [], {}
    for seq in POSITIONS:
        ratio = t[seq, 8] / parts(seq, 8)
        positions[" -> ".join(seq)] = ratio
        pos_rows.append([" -> ".join(seq), t[seq, 8] * 1000, parts(seq, 8) * 1000, ratio])
    md = (
        f"### Element-wise ops in the middle of a chain (host, XNNPACK, {a.hw}x{a.hw})\n\n"
        "Chain 1x1 conv -> op -> 1x1 conv against its three ops timed alone: the ratio, and in "
        "brackets the op's excess in the chain as a multiple of its own time alone.\n\n"
        + md_table(["op", *(f"{c} channels" for c in CHANNELS)], rows)
        + "\n\nPReLU at 8 channels, first, last or in the middle of a chain:\n\n"
        + md_table(["chain", "chain µs", "its ops alone µs", "ratio"], pos_rows)
    )
    save(a.name, {"hw": a.hw, "rounds": a.rounds, "middle": grid, "positions": positions}, md)
    print(md)


if __name__ == "__main__":
    main()
