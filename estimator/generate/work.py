"""The work a build does: one item per model to measure, and how each model is made.

Three kinds: ``op`` (one operator from a generator configuration), ``extracted`` (one operator
cut out of a real model, with its real weights) and ``network`` (a whole generated network,
measured end to end so the estimator learns what summing single ops misses). Items carry a
key, unique per device profile, that makes a rerun skip what is already measured.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..features import op_record
from ..paths import leti_home
from ..tflite import Node, read_model
from . import netgen
from .opgen import GenerationError, OpConfig, convert, generate, verify

# TensorFlow's converter is not documented as thread-safe; phones benchmark in parallel, but
# model generation takes turns.
_GENERATE_LOCK = threading.Lock()


@dataclass
class Built:
    """A model ready to time: its bytes and, for single ops, the node record training reads."""

    data: bytes
    record: dict[str, Any] | None = None


@dataclass
class WorkItem:
    key: str
    kind: str  # op | extracted | network
    op: str  # the op type, or "network:<family>"
    label: str
    config: dict[str, Any]
    source: str
    make: Callable[[], Built] = field(repr=False)


def op_item(cfg: OpConfig) -> WorkItem:
    return WorkItem(cfg.key, "op", cfg.op, cfg.label(), cfg.params, cfg.source,
                    lambda: _op_model(cfg))  # fmt: skip


def network_item(spec: dict[str, Any]) -> WorkItem:
    label = f"network {spec['family']} res={spec['res']} width={spec['width']}"
    return WorkItem(network_key(spec), "network", f"network:{spec['family']}", label, spec,
                    "suite", lambda: _network(spec))  # fmt: skip


def network_key(spec: dict[str, Any]) -> str:
    return f"gen-{netgen.spec_key(spec)}"


def extracted_items(path: Path, nodes: list[Node]) -> list[WorkItem]:
    """Items for ``nodes`` of the model at ``path``, each cut out with its real weights."""
    from .extract import extract_ops, signature

    if not nodes:
        return []
    data = path.read_bytes()
    subs = extract_ops(data, read_model(data, path.name), nodes)
    items = []
    for n in nodes:
        config = {
            "extracted_from": path.name,
            "node": n.key,
            "inputs": [t.shape for t in n.inputs if not t.is_constant],
            "outputs": [t.shape for t in n.outputs],
        }
        built = Built(subs[n.key], op_record(n))
        items.append(WorkItem(f"x{signature(n)}", "extracted", n.op,
                              f"{n.op} (node {n.key} of {path.name})", config, "extracted",
                              lambda b=built: b))  # fmt: skip
    return items


def _cached(path: Path, make: Callable[[], bytes]) -> bytes:
    """Read a generated model from the cache, or make it (one generator at a time)."""
    if path.exists():
        return path.read_bytes()
    with _GENERATE_LOCK:
        if path.exists():  # another worker made it while we waited
            return path.read_bytes()
        data = make()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.part")
        tmp.write_bytes(data)
        tmp.replace(path)
    return data


def _op_model(cfg: OpConfig) -> Built:
    """The config's model, cached on disk so other devices and reruns skip TensorFlow."""
    path = leti_home() / "cache" / "ops" / f"{cfg.op}-{cfg.key}.tflite"
    data = _cached(path, lambda: generate(cfg)[0])
    # Verifying again is cheap and guards against a cache written by another version.
    return Built(data, op_record(verify(cfg, data)))


def _network(spec: dict[str, Any]) -> Built:
    try:
        return Built(network_model(spec))
    except Exception as exc:  # the generator rejects a spec: the build reports it and goes on
        raise GenerationError(f"network {spec}: cannot be generated ({exc})") from None


def network_model(spec: dict[str, Any]) -> bytes:
    path = leti_home() / "cache" / "networks" / f"{spec['family']}-{netgen.spec_key(spec)}.tflite"
    return _cached(path, lambda: convert(netgen.build(spec)))
