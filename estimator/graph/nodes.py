"""The graph every later stage works on: tensors, operator nodes and subgraphs of one model.

Plain data, no parsing: :mod:`.reader` fills it from a .tflite file (the nodes from the
column reader's arrays, when first read); features, estimates, the inspector and the viewer
read it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Tensor:
    index: int
    name: str
    shape: list[int]
    shape_signature: list[int]
    dtype: str
    is_constant: bool
    nbytes: int
    quantization: dict[str, Any] | None = None
    sparse: bool = False
    numel: int = 1  # elements, unknown (-1) dimensions counted as 1
    inferred: bool = False  # the shape was resolved by shape propagation, not read from the file
    value: tuple[int, ...] | None = None  # contents of a small constant integer tensor

    @property
    def dynamic(self) -> bool:
        return any(d < 0 for d in self.shape_signature)


@dataclass
class Node:
    """One operator. ``index`` is the key Netron and Model Explorer use for TFLite nodes."""

    subgraph: int
    index: int
    op: str
    inputs: list[Tensor]
    outputs: list[Tensor]
    options: dict[str, Any] = field(default_factory=dict)
    custom_code: str | None = None
    macs: int = 0
    flops: int = 0
    bytes_activations_read: int = 0
    bytes_weights_read: int = 0
    bytes_written: int = 0
    params: int = 0
    role: str = "compute"  # compute | weight_prep | merged | shape | custom

    @property
    def key(self) -> str:
        return f"{self.subgraph}:{self.index}"

    @property
    def is_custom(self) -> bool:
        return self.custom_code is not None

    @property
    def fused_activation(self) -> str:
        return self.options.get("fused_activation_function", "NONE")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["key"] = self.key
        d["is_custom"] = self.is_custom
        for group in ("inputs", "outputs"):
            for t in d[group]:
                t["dynamic"] = any(x < 0 for x in t["shape_signature"])
        return d


@dataclass
class Subgraph:
    index: int
    name: str
    inputs: list[int]
    outputs: list[int]
    operator_count: int


@dataclass
class ModelGraph:
    """One model. ``columns`` are its nodes as the arrays prediction reads
    (:class:`.columns.ModelColumns`), decoded from the file; ``nodes`` are made from them the
    first time they are read (``make_nodes``), or given."""

    path: str
    size_bytes: int
    version: int
    description: str
    subgraphs: list[Subgraph]
    sha256: str
    columns: Any = field(default=None, repr=False, compare=False)
    make_nodes: Callable[[], list[Node]] | None = field(default=None, repr=False, compare=False)
    given_nodes: list[Node] | None = field(default=None, repr=False, compare=False)

    @property
    def nodes(self) -> list[Node]:
        if self.given_nodes is None:
            assert self.make_nodes is not None, "a graph has its nodes or a way to make them"
            self.given_nodes = self.make_nodes()
            self.make_nodes = None  # and what it held (the file's bytes) with it
        return self.given_nodes

    def totals(self) -> dict[str, int]:
        keys = ("macs", "flops", "bytes_activations_read", "bytes_weights_read", "bytes_written")
        out = {k: sum(getattr(n, k) for n in self.nodes) for k in keys}
        out["params"] = sum(n.params for n in self.nodes)
        out["operators"] = len(self.nodes)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "size_bytes": self.size_bytes,
            "sha256": self.sha256,
            "schema_version": self.version,
            "description": self.description,
            "subgraphs": [asdict(s) for s in self.subgraphs],
            "totals": self.totals(),
            "nodes": [n.to_dict() for n in self.nodes],
        }
