"""Whole-model latency from per-node predictions, with the runtime's reality applied.

Per node: weight-preparation ops (constant DEQUANTIZE/DENSIFY) cost nothing per inference, nor
does zero padding the runtime merges into the next convolution; op kinds with a regressor are
``learned``; others get the device's analytic throughput and are marked ``analytic`` (custom
ops ``custom``, unless measurements cut out of real models gave them a regressor). Then the
runtime (:mod:`.runtime`): ops the runtime fuses into their producer cost what the fusion
probes measured, and on a GPU the ops its delegate refuses run on the CPU, in partitions.
Finally the network-level composition (:mod:`.composition`) turns the nodes into the total.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..features import from_table, graph_columns, op_kind, patch_bytes
from ..graph import ModelGraph, Node, read_model
from ..ops import FREE_ROLES, SAME_COMPUTATION
from .batch import Coded, ModelInput, NodeBatch, batch_for, batch_of, distinct_rows
from .composition import Composition, NodeFacts
from .results import Lazy, ModelEstimate, NodeEstimate
from .runtime import Runtime
from .throughput import Throughput


@dataclass
class OpModel:
    """A trained regressor for one op kind, with its held-out error."""

    op: str
    name: str
    model: Any
    samples: int
    metrics: dict[str, float]
    log_q10: float
    log_q90: float


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while graphs are built: a 250-op model is some
    thousand acyclic objects, and the collections they trigger took a third of
    ``predict_many``'s time. Reference counting still frees everything; the collector
    resumes, as it was, on the way out."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@dataclass
class Raw:
    """Per-node single-op predictions before the runtime and the composition."""

    ms: np.ndarray
    source: np.ndarray  # object: learned | analytic | custom | free
    lo: np.ndarray  # log-interval bounds
    hi: np.ndarray


@dataclass
class _Done:
    """A batch predicted: per node, then per model."""

    batch: NodeBatch
    raw: Raw
    values: np.ndarray  # each node's ms in the total
    fused: np.ndarray  # multiple of its single-op cost a node pays (fusion, middle of a chain)
    cpu: np.ndarray
    totals: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    cpu_ms: np.ndarray
    analytic_ms: np.ndarray
    partitions: np.ndarray


def _graph_of(model: ModelInput) -> Callable[[], ModelGraph]:
    """The model's graph, read once and only when its nodes are asked for."""
    if isinstance(model, ModelGraph):
        return lambda: model
    got: list[ModelGraph] = []

    def graph() -> ModelGraph:
        if not got:
            got.append(read_model(model))
        return got[0]

    return graph


def _path_of(model: ModelInput) -> str:
    if isinstance(model, ModelGraph):
        return model.path
    return "<bytes>" if isinstance(model, bytes) else str(model)


def _chunks(models: Iterable[ModelInput], size: int) -> Iterator[list[ModelInput]]:
    part: list[ModelInput] = []
    for m in models:
        part.append(m)
        if len(part) == size:
            yield part
            part = []
    if part:
        yield part


def is_gpu_profile(device_id: str) -> bool:
    """A GPU runs it: the ``gpu`` device, or a phone measured with its GPU delegate."""
    return device_id.startswith("gpu/") or (
        device_id.startswith("adb/") and device_id.endswith("/gpu")
    )


class LatencyEstimator:
    """Per-op regressors + throughput + runtime facts + composition for one device profile.

    Load once (:func:`leti.estimator.predict.store.load`), then :meth:`predict` or
    :meth:`predict_many` as often as an architecture search needs.
    """

    def __init__(
        self,
        device_id: str,
        op_models: dict[str, OpModel],
        throughput: Throughput,
        composition: Composition | None = None,
        runtime: Runtime | None = None,
        metadata: dict[str, Any] | None = None,
        calibrated: bool = True,
    ) -> None:
        self.device_id = device_id
        self.op_models = op_models
        self.throughput = throughput
        self.composition = composition or Composition()
        self.runtime = runtime or Runtime(gpu=is_gpu_profile(device_id))
        self.metadata = metadata or {}
        self.calibrated = calibrated

    @property
    def gpu(self) -> bool:
        return self.runtime.gpu

    # --- per-node single-op predictions ------------------------------------------------------

    def raw(self, batch: NodeBatch) -> Raw:
        """Single-op ms, source and log-interval bounds for every node of a batch: one
        regressor call per op kind, on the distinct feature rows only (repeated blocks and
        candidates of one search space share most of their layers)."""
        c, t = batch.cols, self.throughput
        n = len(c.kind)
        ms, lo, hi = np.zeros(n), np.zeros(n), np.zeros(n)
        free = batch.role_in(FREE_ROLES)
        custom = batch.role_in(["custom"])
        source = np.where(free, "free", np.where(custom, "custom", "analytic")).astype(object)
        learned = ~free & batch.kinds.isin(self.op_models)
        priced_by = np.where(learned, c.kind, "").astype(object)
        source[priced_by != ""] = "learned"  # custom ops too, once cut out and measured
        twins = np.flatnonzero(custom & (priced_by == ""))
        if len(twins):  # a custom op computing what a builtin does is priced as the builtin
            twin = np.array([SAME_COMPUTATION.get(o, "") for o in c.op[twins]], dtype=object)
            has = np.isin(twin, list(self.op_models))
            priced_by[twins[has]] = twin[has]
        tab = c.table
        analytic = ~free & (priced_by == "")
        nbytes = tab["b_in"] + tab["b_w"] + tab["b_out"]
        ms[analytic] = t.predict_ms(tab["flops"][analytic], nbytes[analytic])
        lo[analytic], hi[analytic] = t.log_residual_q10, t.log_residual_q90
        rows = np.flatnonzero(priced_by != "")
        if len(rows):
            X = from_table({k: v[rows] for k, v in tab.items()})
            by = Coded.of(priced_by[rows])
            for code, kind in enumerate(by.names):
                m = self.op_models[kind]
                sel = by.codes == code
                distinct, back = distinct_rows(X[sel])
                ms[rows[sel]] = np.exp(m.model.predict(distinct))[back]
                lo[rows[sel]], hi[rows[sel]] = m.log_q10, m.log_q90
        return Raw(ms, source, lo, hi)

    def facts(self, graph: ModelGraph) -> NodeFacts:
        """The per-node facts the composition columns are computed from (training reads
        them for every measured network)."""
        batch = batch_of([graph_columns(graph)])
        return self._facts(batch, self.raw(batch))[0]

    def _facts(self, batch: NodeBatch, raw: Raw) -> tuple[NodeFacts, np.ndarray]:
        costed = raw.source != "free"
        fused = self.runtime.kept_share(batch)
        cpu = self.runtime.on_cpu(batch)
        return NodeFacts.of(batch, raw.ms * fused, costed, cpu), fused

    # --- prediction --------------------------------------------------------------------------

    def predict(
        self, model: str | Path | bytes | ModelGraph, name: str | None = None
    ) -> ModelEstimate:
        """One model, every node's estimate and note."""
        with _gc_paused():
            graph = model if isinstance(model, ModelGraph) else read_model(model, name=name)
            done = self._run(batch_of([graph_columns(graph)]))
            return self._estimate(done, 0, lambda: graph, graph.path)

    def predict_many(self, models: list[ModelInput]) -> list[ModelEstimate]:
        """Many models as one batch (files are read by the column reader; see
        :mod:`.batch`). Totals are computed for all at once; a model's per-node estimates
        and notes are built only when its ``nodes`` are first read."""
        with _gc_paused():
            done = self._run(batch_for(models))
            return [self._estimate(done, i, _graph_of(m), _path_of(m))
                    for i, m in enumerate(models)]  # fmt: skip

    def predict_totals(self, models: Iterable[ModelInput], chunk: int = 256) -> np.ndarray:
        """Predicted total ms of each model, nothing else: the architecture-search loop.
        Models are taken ``chunk`` at a time, so memory stays flat however many there are."""
        out: list[np.ndarray] = []
        with _gc_paused():
            for part in _chunks(models, chunk):
                out.append(self._run(batch_for(part)).totals)
        return np.concatenate(out) if out else np.zeros(0)

    def _run(self, batch: NodeBatch) -> _Done:
        c = self.composition
        raw = self.raw(batch)
        facts, fused = self._facts(batch, raw)
        values = c.per_node(facts)
        totals = c.invoke_ms + batch.sums(values)
        if not self.calibrated:  # one fitted throughput prices every node: no averaging out
            t = self.throughput
            lo_t = totals * math.exp(min(t.log_residual_q10, 0.0))
            hi_t = totals * math.exp(max(t.log_residual_q90, 0.0))
        elif c.log_q05 is not None and c.log_q95 is not None:
            lo_t = totals * math.exp(min(c.log_q05, 0.0))
            hi_t = totals * math.exp(max(c.log_q95, 0.0))
        else:
            # Too few networks to check the sum out of family (a smoke build's three): nothing
            # says the nodes' errors cancel, nor that the sum composes as those networks did.
            # The nodes' errors are added up as one (fully correlated), and the interval is at
            # least as wide as an uncalibrated estimate's: on a smoke build hair_segmentation
            # was estimated 7.79 ms (7.53-9.04) against 16.9 ms measured.
            t = self.throughput
            down = batch.sums(values - values * np.exp(raw.lo))
            up = batch.sums(values * np.exp(raw.hi) - values)
            lo_t = np.minimum(np.maximum(totals - down, 0.0),
                              totals * math.exp(min(t.log_residual_q10, 0.0)))  # fmt: skip
            hi_t = np.maximum(totals + up, totals * math.exp(max(t.log_residual_q90, 0.0)))
        fallback = (raw.source == "analytic") | (raw.source == "custom")
        partitions = np.ones(batch.models, int)
        if self.gpu:
            partitions = self.runtime.partitions(batch, facts.cpu)
        return _Done(batch, raw, values, fused, facts.cpu, totals, lo_t, hi_t,
                     batch.sums(values * facts.cpu), batch.sums(values * fallback),
                     partitions)  # fmt: skip

    def _estimate(self, done: _Done, m: int, graph: Callable[[], ModelGraph],
                  path: str) -> ModelEstimate:  # fmt: skip
        total = float(done.totals[m])
        return ModelEstimate(
            model=path,
            device=self.device_id,
            total_ms=total,
            total_interval_ms=(float(done.lo[m]), float(done.hi[m])),
            nodes=Lazy(lambda: self._nodes(done, m, graph())),
            invoke_overhead_ms=self.composition.invoke_ms,
            partitions=int(done.partitions[m]),
            cpu_fallback_ms=float(done.cpu_ms[m]),
            calibrated=self.calibrated,
            estimator=self.summary(),
            subgraphs=Lazy(lambda: [s.name for s in graph().subgraphs]),
            analytic_ms=float(done.analytic_ms[m]),
        )

    def _nodes(self, done: _Done, m: int, graph: ModelGraph) -> list[NodeEstimate]:
        start, end = int(done.batch.starts[m]), int(done.batch.starts[m + 1])
        if len(graph.nodes) != end - start:
            raise AssertionError("the graph and its columns disagree on the nodes")
        total = float(done.totals[m])
        raw, values, fused = done.raw, done.values, done.fused
        notes = self.runtime.notes(graph.nodes, fused[start:end])
        out = []
        for i, node in enumerate(graph.nodes):
            k = start + i
            v = float(values[k])
            source = raw.source[k]
            if source != "free" and fused[k] == 0:
                source = "fused"
            out.append(NodeEstimate(
                subgraph=node.subgraph, index=node.index, op=node.op, ms=v,
                interval_ms=(v * math.exp(raw.lo[k]), v * math.exp(raw.hi[k])) if v else (0.0, 0.0),
                share=v / total if total > 0 else 0.0, source=source,
                gpu_unsupported=bool(done.cpu[k]), fused_activation=node.fused_activation,
                flops=node.flops,
                act_bytes=node.bytes_activations_read + node.bytes_written, kind=op_kind(node),
                patch_bytes=patch_bytes(node),
                note=notes[i] or self._note(node, raw.source[k]),
            ))  # fmt: skip
        return out

    def _note(self, node: Node, source: str) -> str:
        if source == "custom" and SAME_COMPUTATION.get(node.op) in self.op_models:
            return f"custom op: priced as {SAME_COMPUTATION[node.op]}, the same computation"
        if source == "custom":
            return "custom op: priced analytically from the device's throughput"
        if source == "analytic":
            return self._analytic_note(op_kind(node))
        if node.role == "merged":
            return "zero padding merged into the next convolution by the runtime; free"
        if node.role == "shape":
            return "integer shape arithmetic on a few values; next to nothing per inference"
        if source == "free":
            return "prepares constant weights once; free per inference"
        if node.role == "custom":
            return "custom op: learned from measurements of it cut out of real models"
        return ""

    def _analytic_note(self, op: str) -> str:
        if not self.calibrated:
            n = self.throughput.samples
            return (f"uncalibrated: priced from the device's throughput, fitted on {n} "
                    "micro-benchmark measurements; calibrate for learned estimates")  # fmt: skip
        seen = self.metadata.get("report", {}).get("samples_by_op", {}).get(op, 0)
        if seen:
            return (f"only {seen} measurement(s) of {op} on this device, too few for a "
                    "regressor: priced from the device's throughput")  # fmt: skip
        return f"{op} was never measured on this device: priced from the device's throughput"

    def summary(self) -> dict[str, Any]:
        return {
            "device": self.device_id,
            "calibrated": self.calibrated,
            "learned_op_types": sorted(self.op_models),
            "trained_at": self.metadata.get("trained_at"),
            "samples": sum(m.samples for m in self.op_models.values()),
            "networks": self.composition.networks,
            "composition": self.composition.form,
        }
