"""A phone's CPU priced by transfer from the host: every node as the host estimator prices it,
scaled by what one host millisecond of its op class costs on the phone
(:mod:`..learn.transfer`; grouped convolutions per GFLOP where it prices them apart, and
depthwise convolutions from their own size alone), plus the fitted per-GFLOP (convolutions,
depthwise convolutions), per-compute-node (convolutions, depthwise convolutions, dense layers),
per-activation-megabyte (nodes the host fuses away included), per-patch-matrix-megabyte
(convolutions with kernels over 1x1) and per-run costs."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..graph import ModelGraph, read_model
from ..learn.transfer import ACT_LAYOUT, ACT_REST, GROUPED, PATCH, Transfer
from ..ops import GROUPED_CONV
from .composition import op_class
from .estimator import LatencyEstimator
from .results import ModelEstimate, NodeEstimate, format_ms


class TransferEstimator:
    """The host's estimator, carried over to a phone's CPU core set."""

    kind = "transfer"
    gpu = False
    calibrated = True

    def __init__(
        self,
        device_id: str,
        base: LatencyEstimator,
        transfer: Transfer,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.device_id = device_id
        self.base = base
        self.transfer = transfer
        self.metadata = metadata or {}

    def predict(
        self, model: str | Path | bytes | ModelGraph, name: str | None = None
    ) -> ModelEstimate:
        graph = model if isinstance(model, ModelGraph) else read_model(model, name=name)
        return self._carry(self.base.predict(graph))

    def predict_many(self, models: list[Any]) -> list[ModelEstimate]:
        return [self._carry(e) for e in self.base.predict_many(models)]

    def predict_totals(self, models: Iterable[Any], chunk: int = 256) -> np.ndarray:
        return np.array([self._carry(e).total_ms for e in self.base.predict_many(list(models))])

    def _carry(self, host: ModelEstimate) -> ModelEstimate:
        """The host's estimate node by node at the phone's prices: each node's columns
        (``Transfer.node_columns``, the rule its fit summed over whole models) times the
        fitted costs, so the total is the fit's own prediction for the model."""
        t = self.transfer
        nodes = []
        for n in host.nodes:
            terms = t.terms(t.node_columns(n))
            ms = sum(terms.values())
            if n.source == "fused" and ms > 0:
                nodes.append(self._fused(n, ms))
            elif n.source in ("free", "fused"):
                nodes.append(replace(n, ms=0.0, interval_ms=(0.0, 0.0)))
            else:
                nodes.append(self._priced(n, terms, ms))
        total = t.overhead_ms + sum(n.ms for n in nodes)
        for n in nodes:
            n.share = n.ms / total if total > 0 else 0.0
        return ModelEstimate(
            model=host.model,
            device=self.device_id,
            total_ms=total,
            total_interval_ms=(total * math.exp(t.log_q05), total * math.exp(t.log_q95)),
            nodes=nodes,
            invoke_overhead_ms=t.overhead_ms,
            calibrated=True,
            estimator=self.summary(),
            subgraphs=host.subgraphs,
        )

    def _priced(self, n: NodeEstimate, terms: dict[str, float], ms: float) -> NodeEstimate:
        """A costed node at ``ms`` (the sum of its ``terms``), its interval and its note.
        The part taken from the host's estimate of it (its scaled host ms, or a grouped
        convolution's GFLOPs) keeps the host interval's relative spread, the rest is the
        fit's; a class priced from its own size keeps that spread over all of it."""
        t = self.transfer
        cls = op_class(n.op)
        scale = t.scale_of(cls)
        scaled = terms.get(cls, 0.0) + terms.get("all", 0.0)
        grouped = terms.get(GROUPED, 0.0)
        own = t.own_size(cls)
        uncertain = ms if own else scaled + grouped
        spread = (n.interval_ms[0] / n.ms, n.interval_ms[1] / n.ms) if n.ms else (1.0, 1.0)
        lo, hi = (ms - uncertain + uncertain * s for s in spread)
        act = sum(terms.get(c, 0.0) for c in ("act", ACT_REST, ACT_LAYOUT))
        patch = terms.get(PATCH, 0.0)
        launch, flop_ms = terms.get("nodes", 0.0), terms.get(f"gflop:{cls}", 0.0)
        moved = (
            f", + {format_ms(act)} for its {n.act_bytes / 1e6:.3g} MB of activations" if act else ""
        ) + (
            f", + {format_ms(patch)} for its {n.patch_bytes / 1e6:.3g} MB patch matrix"
            if patch
            else ""
        )
        if GROUPED in terms and n.kind == GROUPED_CONV:
            note = (
                f"grouped convolution: {n.flops / 1e9:.3g} GFLOP × {t.per_grouped_gflop_ms:.3g} "
                "ms per GFLOP, what the phone's TensorFlow Lite (its reference kernel for groups "
                f"> 1) took for them{moved}"
            )
        else:
            flops = (
                f", + {format_ms(flop_ms)} for its {n.flops / 1e9:.3g} GFLOP at "
                f"{t.per_gflop_ms(cls):.3g} ms a GFLOP, the phone's own rate for {cls} FLOPs"
                if flop_ms
                else ""
            )
            note = (
                f"{cls} priced from its own size on the phone, not from this machine's time for "
                f"it ({format_ms(n.ms)})" + (f", + {format_ms(launch)} a node" if launch else "")
                if own
                else f"this machine's estimate ({format_ms(n.ms)}) × {scale:.3g}, what a host ms "
                f"of {cls} ops costs on this phone's CPU"
            ) + f"{flops}{moved}"
        return replace(n, ms=ms, interval_ms=(lo, hi), note=note)

    def _fused(self, n: NodeEstimate, ms: float) -> NodeEstimate:
        """A node the host fuses away (a residual ADD after a convolution) at ``ms``, its
        activation traffic: the phone runs it (learn.transfer), so on the phone it is priced
        ("learned"), not fused. Its interval is the point: the fit's spread is in the
        total's interval, and the host gives the node none of its own."""
        note = (
            f"free on this machine (fused); the phone runs it: {format_ms(ms)} for its "
            f"{n.act_bytes / 1e6:.3g} MB of activations"
        )
        return replace(n, ms=ms, interval_ms=(ms, ms), note=note, source="learned")

    def summary(self) -> dict[str, Any]:
        return {
            "device": self.device_id,
            "calibrated": True,
            "kind": "transfer",
            "from": self.base.device_id,
            "composition": self.transfer.form,
            "trained_at": self.metadata.get("trained_at"),
            "networks": self.transfer.report.get("models", 0),
        }

    def to_meta(self) -> dict[str, Any]:
        return {
            "base": self.base.device_id,
            "base_trained_at": self.base.metadata.get("trained_at"),
            "transfer": asdict(self.transfer),
        }
