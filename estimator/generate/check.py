"""Check a generated model before anything is measured on it: the graph reader must see
exactly the intended operator with the intended options, and one interpreter run must agree
with every output shape the builder declared. A model that fails either is a recorded failure
with its reason, never a measurement of the wrong thing."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..features import op_kind
from ..graph import ModelGraph, Node, read_model
from ..logs import native_stderr
from .config import GenerationError, OpConfig


def check_single(cfg: OpConfig, data: bytes, copies: int = 1) -> Node:
    """The (first) node of a single-op model of ``copies`` copies, after both checks."""
    graph = read_model(data, name=cfg.label())
    kinds = [op_kind(n) for n in graph.nodes]
    if kinds != [cfg.op] * copies:
        want = f"{copies} x {cfg.op}" if copies > 1 else f"one {cfg.op}"
        raise GenerationError(f"{cfg.label()}: the model holds {kinds}, expected {want}")
    check_runs(data, graph, cfg.label())
    return graph.nodes[0]


def check_runs(data: bytes, graph: ModelGraph, label: str) -> None:
    """Run the model once on the host's interpreter; its output shapes must be the declared
    ones (the builder's shape rules against the runtime's own)."""
    from ai_edge_litert.interpreter import Interpreter

    try:
        with native_stderr():
            interp = Interpreter(model_content=data, num_threads=1)
            interp.allocate_tensors()
        for d in interp.get_input_details():
            interp.set_tensor(d["index"], _example(d))
        interp.invoke()
    except Exception as exc:  # the runtime rejects the model: say what it said
        last = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
        raise GenerationError(f"{label}: the interpreter cannot run it ({last})") from None
    declared = {t.index: t.shape for n in graph.nodes for t in n.outputs}
    for d in interp.get_output_details():
        got = [int(x) for x in d["shape"]]
        want = declared.get(d["index"])
        if want is not None and got != want:
            raise GenerationError(
                f"{label}: output {d['name']} runs as {got}, the model declares {want}"
            )


def _example(detail: dict[str, Any]) -> np.ndarray:
    shape, dtype = detail["shape"], detail["dtype"]
    rng = np.random.default_rng(0)
    if np.issubdtype(dtype, np.floating):
        return rng.standard_normal(shape).astype(dtype)
    if dtype == np.bool_:
        return np.zeros(shape, dtype)
    return rng.integers(-20, 20, size=shape).astype(dtype)
